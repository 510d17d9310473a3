"""Statements on the PostgreSQL servers: the directory and the physical shard
servers, through the runtime's async pools (backend/runtime.py).

A page that touches several servers asks them concurrently. Every statement
is counted per server (backend.shards.stats) for query-count tests.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from django.conf import settings

from backend import runtime
from backend.runtime import DIRECTORY
from backend.shards import stats

Row = dict[str, Any]

__all__ = ["DIRECTORY", "Row", "aconnection", "aexecute", "conninfo", "direct_conninfo", "servers"]


def servers() -> list[str]:
    """The physical shard servers."""
    return list(settings.SHARD_SERVERS)


conninfo = runtime.conninfo
direct_conninfo = runtime.direct_conninfo


@asynccontextmanager
async def aconnection(
    server: str, purpose: str = "main"
) -> AsyncIterator[psycopg.AsyncConnection[Row]]:
    """A pooled connection. `purpose="nested"`: a second pool for transactions
    opened while another one is held (a follow's mirror write): drawn from the
    same pool, busy outer transactions could take every connection and wait
    forever for their inner ones."""
    async with runtime.pool(server, purpose).connection() as conn:
        yield conn  # type: ignore[misc]


async def aexecute(server: str, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
    """Run one statement on `server` (autocommit) and return its rows."""
    async with aconnection(server) as conn:
        stats.record(server)
        start = time.perf_counter()
        try:
            cur = await conn.execute(sql.encode(), params)
            return await cur.fetchall() if cur.description else []
        finally:
            stats.observe(server, time.perf_counter() - start)
