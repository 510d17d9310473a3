"""Shared fixtures: the suite runs against the real servers of the `test` stack.

`make test` (scripts/test.sh) starts that stack (scripts/stack.sh --profile
test up), exports its environment, runs pytest, and stops it by pid.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

if "SHARD_DATABASE_URLS" not in os.environ:
    raise pytest.UsageError(
        "the test stack's environment is missing: run `make test`, or "
        'eval "$(scripts/stack.sh --profile test env)" after scripts/stack.sh --profile test up'
    )


@pytest.fixture(scope="session")
def django_db_setup() -> None:
    """Use the test stack's databases as they are (migrated by the stack script)."""


@pytest.fixture(scope="session", autouse=True)
def _db_access(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    # Tests share real servers; isolation comes from unique names, not rollbacks.
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="session", autouse=True)
async def _runtime() -> AsyncIterator[None]:
    """This process's connections, opened on the session's one event loop, as
    the ASGI lifespan opens them in a web process."""
    from backend import runtime

    async with runtime.running():
        yield


@pytest.fixture
def map_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shard map is re-checked once a second; a slow request on a loaded
    machine would count that check (one directory statement) in some runs and
    not others. Tests that count a request's own statements take this: the
    map, current from their earlier requests, is not checked for a minute."""
    from backend.shards import topology

    monkeypatch.setattr(topology, "MAP_CHECK_SECONDS", 60.0)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client speaking to the ASGI application in this process."""
    from backend.asgi import application

    transport = httpx.ASGITransport(app=application)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        yield c


@pytest.fixture(scope="session")
def live_url() -> str:
    """The gunicorn server the stack script started."""
    return f"http://127.0.0.1:{os.environ['APP_PORT']}"


@pytest.fixture
async def live() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{os.environ['APP_PORT']}", timeout=30
    ) as c:
        yield c


@pytest.fixture(scope="session")
def edge_url() -> str:
    """nginx, the stack's public entry point, in front of the app instances."""
    return os.environ["PUBLIC_URL"]


@pytest.fixture
async def edge(edge_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=edge_url, timeout=30) as c:
        yield c
