"""Sentry end to end: the stack's web and worker processes report to a local
stand-in of Sentry's envelope endpoint (SENTRY_DSN of the throw-away
profiles: scripts/profile.sh, tests/sentry_standin.py; `stack.sh env`
leaves it out, so the suite's own process reports nothing). An unhandled
resolver error and a failing actor arrive, named, with no secret in them; a
client error does not arrive."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import httpx
import pytest
import redis

from tests.graphql import gql, sign_up

DEADLINE = 30.0
PASSWORD = "hunter2-correct-horse"


@pytest.fixture
async def sentry() -> Any:
    port = os.environ.get("SENTRY_STANDIN_PORT")
    if not port:
        pytest.fail("no Sentry stand-in: run against a test profile of scripts/stack.sh")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
        yield c


async def events(sentry: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await sentry.get("/events")
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()["events"]
    return found


async def wait_for_event(sentry: httpx.AsyncClient, match: Any, what: str) -> dict[str, Any]:
    end = time.monotonic() + DEADLINE
    while True:
        found = [e for e in await events(sentry) if match(e["event"])]
        if found:
            return found[0]
        assert time.monotonic() < end, f"no Sentry event for {what} within {DEADLINE} s"
        await asyncio.sleep(0.2)


def tags(event: dict[str, Any]) -> dict[str, str]:
    raw = event.get("tags") or {}
    return dict(raw) if isinstance(raw, dict) else {k: v for k, v in raw}


async def test_an_unhandled_resolver_error_is_reported_without_secrets(live, sentry, unique):
    user = await sign_up(live, f"sentry_{unique}", PASSWORD)
    token = user["token"]
    feed = "query Feed%s { feed(first: 5) { edges { node { id } } } }"
    assert "errors" not in await gql(live, feed % f"Warm{unique}", token=token)
    # A corrupt entry in the reader's feed (not a packed photo ID): the feed
    # resolver fails with an error nobody handles.
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.zadd(f"feed:{user['user']['id']}", {b"\x7f\x7f\x7f": 0})
    # A client error first, on the same connection (so the same process,
    # whose events go out in order): it must not be reported.
    bad = await gql(live, f'query Bad{unique} {{ user(id: "nonsense") {{ id }} }}', token=token)
    assert bad["errors"][0]["extensions"]["code"] in {"BAD_USER_INPUT", "NOT_FOUND"}
    body = await gql(live, feed % unique, token=token)
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"

    found = await wait_for_event(
        sentry,
        lambda e: tags(e).get("graphql.operation_name") == f"Feed{unique}",
        "the resolver error",
    )
    event = found["event"]
    assert tags(event)["graphql.operation"] == "query:feed"
    assert event["environment"] == os.environ["SENTRY_ENVIRONMENT"]
    assert event["exception"]["values"], event
    for secret in (token, PASSWORD):
        assert secret not in found["raw"]
    assert "authorization" not in found["raw"].lower() or token not in found["raw"]
    client.close()

    reported = [tags(e["event"]).get("graphql.operation_name") for e in await events(sentry)]
    assert f"Bad{unique}" not in reported


def test_a_failing_actor_is_reported_without_its_arguments(sentry_sync, unique):
    from backend.tasks import error_report_drill

    secret = f"device-token-{unique}"
    sent_at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    error_report_drill.send(secret)
    end = time.monotonic() + DEADLINE
    while True:
        found = [
            e
            for e in sentry_sync()
            if e["event"]["timestamp"] >= sent_at
            and any(
                v.get("type") == "ErrorReportDrill"
                for v in e["event"].get("exception", {}).get("values", [])
            )
        ]
        if found:
            break
        assert time.monotonic() < end, "no Sentry event for the failing actor"
        time.sleep(0.2)
    event = found[0]["event"]
    assert event["transaction"] == "error_report_drill"  # the actor is named
    assert event["contexts"]["dramatiq"]["type"] == "dramatiq"
    for e in found:
        assert secret not in e["raw"], "a message argument reached Sentry"


@pytest.fixture
def sentry_sync() -> Any:
    port = os.environ.get("SENTRY_STANDIN_PORT")
    if not port:
        pytest.fail("no Sentry stand-in: run against a test profile of scripts/stack.sh")

    def fetch() -> list[dict[str, Any]]:
        response = httpx.get(f"http://127.0.0.1:{port}/events", timeout=10)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()["events"]
        return found

    return fetch
