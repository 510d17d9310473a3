"""Connection pools to the physical shard servers (psycopg 3, sync and async).

The request path is async: one AsyncConnectionPool per server per event loop,
so a page that touches several servers asks them concurrently. Commands and
Dramatiq actors use the sync pools. Every statement is counted per server
(backend.shards.stats) for query-count tests.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
from django.conf import settings
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from backend.shards import stats

Row = dict[str, Any]

_lock = threading.Lock()
_sync_pools: dict[tuple[int, str], ConnectionPool] = {}
# Per event loop object (not id(loop): a closed loop's id can come back for a
# new loop, which must not get pools bound to the dead one).
_async_pools: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str], AsyncConnectionPool]
] = weakref.WeakKeyDictionary()


def servers() -> list[str]:
    return list(settings.SHARD_SERVERS)


def conninfo(server: str) -> str:
    try:
        return str(settings.SHARD_SERVERS[server])
    except KeyError:
        raise KeyError(f"unknown shard server {server!r}") from None


def _pool_options(server: str, kind: str) -> dict[str, Any]:
    return {
        "conninfo": conninfo(server),
        "min_size": 1,
        "max_size": int(settings.DB_POOL_MAX),
        "kwargs": {"autocommit": True, "row_factory": dict_row, "connect_timeout": 5},
        "name": f"{server}-{kind}",
        "timeout": 10,
    }


def sync_pool(server: str) -> ConnectionPool:
    key = (os.getpid(), server)
    with _lock:
        pool = _sync_pools.get(key)
        if pool is None:
            pool = _sync_pools[key] = ConnectionPool(**_pool_options(server, "sync"), open=True)
        return pool


async def async_pool(server: str, purpose: str = "async") -> AsyncConnectionPool:
    """This loop's pool for `server`. `purpose="nested"` is a second pool for
    transactions opened while another one is held (a follow's mirror write):
    drawn from the same pool, busy outer transactions could take every
    connection and wait forever for their inner ones."""
    pools = _async_pools.setdefault(asyncio.get_running_loop(), {})
    pool = pools.get((server, purpose))
    if pool is None:
        pool = pools[(server, purpose)] = AsyncConnectionPool(
            **_pool_options(server, purpose), open=False
        )
        await pool.open()
    return pool


@contextmanager
def connection(server: str) -> Iterator[psycopg.Connection[Row]]:
    with sync_pool(server).connection() as conn:
        yield conn  # type: ignore[misc]


@asynccontextmanager
async def aconnection(
    server: str, purpose: str = "async"
) -> AsyncIterator[psycopg.AsyncConnection[Row]]:
    pool = await async_pool(server, purpose)
    async with pool.connection() as conn:
        yield conn  # type: ignore[misc]


def execute(server: str, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
    """Run one statement on `server` (autocommit) and return its rows."""
    with connection(server) as conn:
        stats.record(server)
        cur = conn.execute(sql.encode(), params)
        return cur.fetchall() if cur.description else []


async def aexecute(server: str, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
    async with aconnection(server) as conn:
        stats.record(server)
        cur = await conn.execute(sql.encode(), params)
        return await cur.fetchall() if cur.description else []


def close_all() -> None:
    """Close this process's sync pools (async pools close with their loop)."""
    with _lock:
        for key, pool in list(_sync_pools.items()):
            if key[0] == os.getpid():
                pool.close()
                del _sync_pools[key]
