"""Statements on the PostgreSQL servers: the directory and the physical shard
servers, through the runtime's async pools (backend/runtime.py).

A page that touches several servers asks them concurrently. Every statement
is counted per server (backend.shards.stats) for query-count tests; those a
hot standby served count as `<server>:replica` (backend.shards.replicas).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from django.conf import settings
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from backend import runtime
from backend.runtime import DIRECTORY
from backend.shards import replicas, stats

Row = dict[str, Any]

__all__ = [
    "DIRECTORY",
    "UNAVAILABLE",
    "Row",
    "aconnection",
    "aexecute",
    "conninfo",
    "direct_conninfo",
    "is_dead_connection",
    "lost_connection",
    "servers",
]

log = logging.getLogger(__name__)

# What a server that is down (or restarting, or out of connections) raises.
UNAVAILABLE: tuple[type[BaseException], ...] = (psycopg.OperationalError, PoolTimeout)


def servers() -> list[str]:
    """The physical shard servers."""
    return list(settings.SHARD_SERVERS)


conninfo = runtime.conninfo

# Each server's current primary, from the directory's endpoint registry
# (topology loads it with the map); the settings' URLs until then.
_primaries: dict[str, str] = {}


def use_primaries(primaries: dict[str, str]) -> None:
    """Direct connections go to these primaries from now on (a failover moved one)."""
    _primaries.clear()
    _primaries.update(primaries)


def direct_conninfo(server: str) -> str:
    """`server`'s primary PostgreSQL itself, bypassing PgBouncer (runtime.direct_conninfo)."""
    return _primaries.get(server) or runtime.direct_conninfo(server)


@asynccontextmanager
async def aconnection(
    server: str, purpose: str = "main"
) -> AsyncIterator[psycopg.AsyncConnection[Row]]:
    """A pooled connection (`purpose="replica"`: the hot standby, for reads
    that may be stale). `purpose="nested"`: a second pool for transactions
    opened while another one is held (a follow's mirror write): drawn from the
    same pool, busy outer transactions could take every connection and wait
    forever for their inner ones."""
    pool = runtime.pool(server, purpose)
    # While the server is failing, wait for a connection briefly: a page that
    # needs it gets its UNAVAILABLE in a second, not after the pool's timeout.
    timeout = FAILING_WAIT_SECONDS if pool.name in _failing else None
    try:
        async with pool.connection(timeout=timeout) as conn:
            try:
                yield conn  # type: ignore[misc]
            except psycopg.OperationalError:
                if conn.broken or conn.closed:
                    # The server went away (restart, failover, PgBouncer restart):
                    # the pool's other idle connections are as dead as this one.
                    # Have it check them all now rather than hand them out one
                    # failed request at a time (this one it discards on return).
                    _check_soon(pool)
                raise
    except psycopg.OperationalError:  # PoolTimeout included
        _failing.add(pool.name)
        raise
    else:
        _failing.discard(pool.name)


# Pools whose server failed the last time (seen by this process).
_failing: set[str] = set()
FAILING_WAIT_SECONDS = 1.0


# Pools with a check under way (one at a time each), and the tasks, held so
# they are not collected before they finish.
_checking: dict[str, asyncio.Task[None]] = {}


def _check_soon(pool: AsyncConnectionPool) -> None:
    if pool.name in _checking:
        return
    task = asyncio.get_running_loop().create_task(_check(pool))
    _checking[pool.name] = task
    task.add_done_callback(lambda _: _checking.pop(pool.name, None))


async def _check(pool: AsyncConnectionPool) -> None:
    try:
        await pool.check()
    except Exception:  # the pool is closing, or the server is still down
        log.debug("pool check of %s failed", pool.name, exc_info=True)


def is_dead_connection(exc: BaseException, conn: psycopg.AsyncConnection[Any]) -> bool:
    """The statement failed because its pooled connection was dead, not because
    of anything it did: the connection is broken now, or the server had ended
    the session before (AdminShutdown, sent to idle sessions at shutdown)."""
    if isinstance(exc, psycopg.errors.AdminShutdown):
        return True
    return isinstance(exc, psycopg.OperationalError) and (conn.broken or conn.closed)


def lost_connection(exc: BaseException) -> bool:
    """psycopg's own InternalError, "received 2 results from command 'BEGIN'":
    PgBouncer answered for a server that died under the statement, and the
    connection can no longer be trusted. The server's internal errors carry a
    SQLSTATE (XX000...) and are not this: they are bugs to see."""
    return isinstance(exc, psycopg.InternalError) and exc.sqlstate is None


def _is_read(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return head in {"SELECT", "(SELECT", "SHOW", "VALUES"}


async def aexecute(
    server: str,
    sql: str,
    params: Sequence[Any] | dict[str, Any] = (),
    *,
    kind: str | None = None,
) -> list[Row]:
    """Run one statement on `server` (autocommit) and return its rows.

    `kind` names a read that may be stale (backend.shards.replicas): it runs
    on the server's hot standby when that kind is turned on, the caller
    allows it and the standby is healthy; if it fails there, it runs again
    on the primary, so a replica that is down or lagging costs no error.

    A read that fails on a dead pooled connection (the server restarted since
    the connection was made) runs once more on a fresh one: reads are safe to
    repeat. A write is repeated only when the server had ended the session
    before it was sent (AdminShutdown), so it never ran.
    """
    if kind is not None and replicas.wanted(server, kind):
        try:
            return await _execute(server, replicas.PURPOSE, sql, params)
        except psycopg.Error as exc:  # PoolTimeout included
            replicas.failed(server, exc)
            log.info("a read on %s's replica failed, reading from the primary: %s", server, exc)
    return await _execute(server, "main", sql, params)


def counted_as(server: str, purpose: str) -> str:
    """How statements count (stats.record, the metrics' `server` label): by
    server, and `<server>:replica` for those its standby served."""
    return f"{server}:{purpose}" if purpose == replicas.PURPOSE else server


async def _execute(
    server: str, purpose: str, sql: str, params: Sequence[Any] | dict[str, Any]
) -> list[Row]:
    label = counted_as(server, purpose)
    for attempt in (1, 2):
        async with aconnection(server, purpose) as conn:
            stats.record(label)
            start = time.perf_counter()
            try:
                cur = await conn.execute(sql.encode(), params)
                return await cur.fetchall() if cur.description else []
            except psycopg.OperationalError as exc:
                retry = attempt == 1 and is_dead_connection(exc, conn)
                if not retry or not (
                    _is_read(sql) or isinstance(exc, psycopg.errors.AdminShutdown)
                ):
                    raise
                log.info("retrying a statement on %s on a fresh connection: %s", label, exc)
            except psycopg.InternalError as exc:
                if not lost_connection(exc):
                    raise
                await conn.close()  # the pool discards it
                if attempt == 2 or not _is_read(sql):
                    raise psycopg.OperationalError(f"connection to {label} lost: {exc}") from exc
                log.info("retrying a statement on %s on a fresh connection: %s", label, exc)
            finally:
                stats.observe(label, time.perf_counter() - start)
    raise AssertionError("unreachable")
