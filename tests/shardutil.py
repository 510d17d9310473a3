"""Helpers for tests that talk to shard schemas directly."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import psycopg

from backend.shards import db, topology
from backend.shards.ids import schema_name


def logical_on(server: str, *, index: int = 0) -> int:
    return topology.refresh(force=True).shards_on(server)[index]


def shard_conn(logical: int) -> psycopg.Connection[Any]:
    server = topology.refresh(force=True).server_of(logical)
    return psycopg.connect(db.conninfo(server), autocommit=True)


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


def start_stopped_servers() -> None:
    """Start whatever data server of the test stack a test stopped (by pid)."""
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [str(root / "scripts" / "stack.sh"), "--profile", os.environ["STACK_PROFILE"], "servers"],
        check=True,
        capture_output=True,
    )
