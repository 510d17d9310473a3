"""Helpers for tests that talk to shard schemas directly."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from backend import runtime
from backend.shards import db, topology
from backend.shards.ids import schema_name, shard_of
from tests.graphql import sign_up


def placement() -> list[str]:
    """The shard map as the directory holds it now (read with a connection of
    the test's own, so sync tests need no runtime)."""
    with psycopg.connect(db.conninfo(db.DIRECTORY)) as conn:
        rows = conn.execute(
            f'SELECT server FROM "{topology.PLACEMENT}" ORDER BY logical'
        ).fetchall()
    return [str(r[0]) for r in rows]


def logical_on(server: str, *, index: int = 0) -> int:
    return [i for i, s in enumerate(placement()) if s == server][index]


def shard_conn(logical: int) -> psycopg.Connection[Any]:
    return psycopg.connect(db.conninfo(placement()[logical]), autocommit=True)


def fetch_ids(conn: psycopg.Connection[Any], sql: str) -> list[int]:
    return [int(r[0]) for r in conn.execute(sql).fetchall()]


def schema(logical: int) -> str:
    return schema_name(logical)


async def delete_profile(user_id: int) -> None:
    """Remove a user's profile row (simulates a half-written or lost profile)."""
    from backend.shards import routing
    from backend.shards.ids import shard_of

    await routing.aquery(
        shard_of(user_id), 'DELETE FROM {schema}."social_profile" WHERE user_id = %s', [user_id]
    )


def start_stopped_servers(*, wait_for_pools: bool = True) -> None:
    """Start whatever data server of the test stack a test stopped (by pid),
    and return once every PgBouncer pool the app uses serves again."""
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [str(root / "scripts" / "stack.sh"), "--profile", os.environ["STACK_PROFILE"], "servers"],
        check=True,
        capture_output=True,
    )
    if wait_for_pools:
        wait_until_pools_serve()


POOLS_SERVE_SECONDS = 60.0


def wait_until_pools_serve() -> None:
    """Until a statement gets through every PgBouncer database of every
    server (main, nested and replica pools). A pool whose logins failed while
    its server was down answers its first client with "server login has been
    failing" and only then reconnects: the next test's first request on that
    pool would get it otherwise."""
    deadline = time.monotonic() + POOLS_SERVE_SECONDS
    for server in (db.DIRECTORY, *db.servers()):
        for purpose in ("main", "nested", "replica"):
            url = runtime.pool_conninfo(server, purpose)
            while True:
                try:
                    with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
                        conn.execute("SELECT 1")
                    break
                except psycopg.OperationalError as exc:
                    assert time.monotonic() < deadline, f"{server} {purpose} pool: {exc}"
                    time.sleep(0.2)


async def users_on_every_server(client: httpx.AsyncClient, prefix: str, n: int) -> list[Any]:
    """n sign-ups, round-robin over the shard servers (so a stopped server
    always holds some of the writers, photos and follows)."""
    where, servers = placement(), db.servers()
    users: list[Any] = []
    for attempt in range(50 * n):
        if len(users) == n:
            return users
        user = await sign_up(client, f"{prefix}{attempt}")
        if where[shard_of(int(user["user"]["id"]))] == servers[len(users) % len(servers)]:
            users.append(user)
    raise AssertionError("sign-ups did not land on every server")
