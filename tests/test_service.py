"""The running product: gunicorn, workers, health endpoints, GraphiQL, schema file."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import cast

import redis

from backend.graph.management.commands.print_schema import SCHEMA_FILE, printed_schema
from backend.tasks import heartbeat, heartbeat_key
from tests.graphql import LOG_IN, VIEWER, gql, sign_up


def test_schema_file_is_up_to_date():
    committed = Path(SCHEMA_FILE).read_text()
    assert committed == printed_schema(), (
        "schema.graphql is stale: run `.venv/bin/python manage.py print_schema --write`"
    )


async def test_healthz(live):
    response = await live.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_every_dependency(live):
    response = await live.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    expected = {"directory", "redis", "memcached", "s3"} | {
        part.split("=")[0] for part in os.environ["SHARD_DATABASE_URLS"].split(",")
    }
    assert set(body["checks"]) == expected
    assert len(expected) >= 5  # directory + at least two physical shard servers + the rest
    assert all(check["ok"] for check in body["checks"].values())


async def test_graphiql_for_a_browser(live):
    response = await live.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_accounts_through_gunicorn(live, unique):
    payload = await sign_up(live, f"live_{unique}", password="through gunicorn")
    body = await gql(live, LOG_IN, {"username": f"live_{unique}", "password": "through gunicorn"})
    token = body["data"]["logIn"]["token"]
    viewer = await gql(live, VIEWER, token=token)
    assert viewer["data"]["viewer"] == {"id": payload["user"]["id"], "username": f"live_{unique}"}


async def test_dramatiq_worker_process_consumes_the_queue():
    nonce = uuid.uuid4().hex
    heartbeat.send(nonce)
    client: redis.Redis = redis.Redis.from_url(os.environ["REDIS_URL"])
    for _ in range(100):
        value = client.get(heartbeat_key(nonce))
        if value is not None:
            break
        await asyncio.sleep(0.1)
    assert value is not None, "no Dramatiq worker ran the heartbeat actor within 10 s"
    assert int(cast(bytes, value)) != os.getpid()
