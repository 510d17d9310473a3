"""Every PostgreSQL server of the stack has a synchronous streaming hot
standby (scripts/stack.sh; docs/decisions/0061-synchronous-standbys.md)."""

from __future__ import annotations

import asyncio
import os
import time

import httpx
import psycopg

from backend.shards.ids import shard_of
from tests.graphql import sign_up
from tests.shardutil import placement


def _primaries() -> dict[str, int]:
    ports = os.environ["PG_SHARD_PORTS"].split()
    return {
        "directory": int(os.environ["PG_DIRECTORY_PORT"]),
        **{f"shard{i}": int(p) for i, p in enumerate(ports, 1)},
    }


def _standbys() -> dict[str, int]:
    ports = os.environ["PG_SHARD_STANDBY_PORTS"].split()
    return {
        "directory": int(os.environ["PG_DIRECTORY_STANDBY_PORT"]),
        **{f"shard{i}": int(p) for i, p in enumerate(ports, 1)},
    }


def _connect(port: int, db: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(
        host="127.0.0.1", port=port, user="photoshare", dbname=db, autocommit=True
    )


def test_every_primary_streams_to_a_synchronous_standby() -> None:
    for name, port in _primaries().items():
        with _connect(port) as conn:
            rows = conn.execute(
                "SELECT application_name, state, sync_state FROM pg_stat_replication"
            ).fetchall()
            assert rows == [("standby", "streaming", "sync")], (name, rows)
            assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
        with _connect(_standbys()[name]) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,), name


async def test_an_acknowledged_sign_up_is_on_both_servers(
    live: httpx.AsyncClient, unique: str
) -> None:
    user = await sign_up(live, f"sb{unique}")
    user_id = int(user["user"]["id"])
    # Flushed on the standby before signUp answered; applied a moment later.
    deadline = time.monotonic() + 10
    shard_server = (placement()[shard_of(user_id)],)
    for name, db, sql in (
        ("directory", "photoshare_directory", "SELECT 1 FROM social_account WHERE id = %s"),
        (
            shard_server[0],
            "photoshare_shards",
            f"SELECT 1 FROM shard_{shard_of(user_id):04d}.social_profile WHERE user_id = %s",
        ),
    ):
        with _connect(_standbys()[name], db) as conn:
            while conn.execute(sql, [user_id]).fetchone() is None:
                assert time.monotonic() < deadline, f"the sign-up never reached {name}'s standby"
                await asyncio.sleep(0.05)
