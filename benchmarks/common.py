"""Shared helpers of the benchmarks (not a benchmark itself)."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The benchmarks share their world-builders and documents with the tests
# (tests/worlds.py): the repository root must be importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def setup_django() -> None:
    import django

    if "SHARD_DATABASE_URLS" not in os.environ:
        sys.exit('run through `make bench`, or eval "$(scripts/stack.sh --profile P env)" first')
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.test")
    django.setup()
    # One log line per request would cost the load generator more than the server.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, indent=2))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def app_url() -> str:
    return f"http://127.0.0.1:{os.environ['APP_PORT']}"


async def hammer(
    requests: list[tuple[dict[str, Any], dict[str, str]]],
    *,
    concurrency: int,
    check: Callable[[dict[str, Any]], None] | None = None,
) -> float:
    """POST every (json body, headers) to /graphql with `concurrency` clients on
    keep-alive connections; returns requests per second. Any error fails the run."""
    import asyncio

    import httpx

    queue: asyncio.Queue[tuple[dict[str, Any], dict[str, str]]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while True:
            try:
                body, headers = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            response = await client.post("/graphql", json=body, headers=headers)
            response.raise_for_status()
            data = response.json()
            if data.get("errors"):
                raise RuntimeError(f"GraphQL errors: {data['errors']}")
            if check is not None:
                check(data)

    async with httpx.AsyncClient(base_url=app_url(), limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        return len(requests) / (time.perf_counter() - started)


async def make_users(n: int, prefix: str) -> list[tuple[int, str]]:
    """n accounts with tokens, made in-process by the sign-up service."""
    import asyncio
    import uuid

    from backend.accounts.services import do_sign_up

    tag = uuid.uuid4().hex[:6]
    out: list[tuple[int, str]] = []
    for start in range(0, n, 50):
        made = await asyncio.gather(
            *(
                do_sign_up(username=f"{prefix}{tag}{i}", password="bench-password", email=None)
                for i in range(start, min(n, start + 50))
            )
        )
        out += [(account.id, token) for account, token in made]
    return out


class OnOneLoop:
    """One event loop with the runtime open, for a sync benchmark script that
    calls async domain code step by step: `call(coro)` runs one coroutine on
    it; `close()` closes the runtime and the loop."""

    def __init__(self) -> None:
        import asyncio

        from backend import runtime

        self._runtime = runtime
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(runtime.start())

    def __call__(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.loop.run_until_complete(self._runtime.stop())
        self.loop.close()
