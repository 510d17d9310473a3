"""Reads that may be stale, served by each server's hot standby.

Every PostgreSQL server has a synchronous hot standby; its PgBouncer routes
database `<db>_replica` to it (deploy/pgbouncer-databases.ini.template), and
the runtime keeps a "replica" pool per server for it (backend/runtime.py).
A statement goes there only when all of these hold (else to the primary):

- its selector names a kind of read (`PROFILES`, `PHOTO_LISTS`, `COMMENTS`)
  and that kind is listed in `REPLICA_READS`;
- the caller allowed stale reads for what it is doing (`allow_stale()`): the
  GraphQL layer does for queries, never for mutations, and not for a viewer
  who wrote within `REPLICA_AFTER_WRITE_SECONDS` (they must read their own
  writes). Workers, commands and services never allow it;
- this process last saw the server's standby healthy: reachable, streaming
  from its primary, and no more than `REPLICA_MAX_LAG_SECONDS` behind.

Health is checked in the background, at most once per `REPLICA_CHECK_SECONDS`
per server and process, never in a read's way: a read uses what the last
check found. A process starts (and a failed check leaves it) on the primary.
A statement that fails on the replica runs again on the primary
(backend/shards/db.py), and a connection failure marks the replica down
until the next check finds it back.

Lag, measured on the standby: what it has received but not yet applied.
With synchronous_commit=on every acknowledged commit is already received
(flushed) there, so received == applied means nothing acknowledged is
missing, however long ago the last transaction was (`now() -
pg_last_xact_replay_timestamp()` alone would grow on an idle server).
Otherwise the lag is the age of the last transaction applied; a paused
replay is infinitely behind. See docs/decisions/0068-replica-reads.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings

from backend import runtime

log = logging.getLogger(__name__)

PROFILES = "profiles"  # users by ID: directory account and profile rows
PHOTO_LISTS = "photo_lists"  # a user's photos, photo rows by ID (lists, feeds)
COMMENTS = "comments"  # comment pages of photos, a comment by ID
KINDS = (PROFILES, PHOTO_LISTS, COMMENTS)

PURPOSE = "replica"  # the runtime's pool purpose

_stale_ok: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "replica_reads_allowed", default=False
)


@contextlib.contextmanager
def allow_stale() -> Iterator[None]:
    """Reads inside (and in tasks started inside) may go to a replica, for
    the kinds `REPLICA_READS` names."""
    token = _stale_ok.set(True)
    try:
        yield
    finally:
        _stale_ok.reset(token)


@contextlib.contextmanager
def fresh() -> Iterator[None]:
    """Reads inside go to the primary, whatever an outer scope allowed."""
    token = _stale_ok.set(False)
    try:
        yield
    finally:
        _stale_ok.reset(token)


def stale_allowed() -> bool:
    """Did the caller allow reads that may be stale (and is any kind on)?"""
    return bool(settings.REPLICA_READS) and _stale_ok.get()


def wanted(server: str, kind: str | None) -> bool:
    """Should a read of `kind` on `server` go to its replica now?"""
    if kind is None or not _stale_ok.get() or kind not in settings.REPLICA_READS:
        return False
    return _health().usable(server)


def failed(server: str, exc: BaseException) -> None:
    """A statement on `server`'s replica failed. A connection failure marks it
    down until the next check; any other error (a query cancelled by a
    recovery conflict, a schema not replayed yet) costs only that statement,
    which runs again on the primary."""
    if is_connection_failure(exc):
        _health().mark_down(server, exc)


def is_connection_failure(exc: BaseException) -> bool:
    """The server could not be reached or went away: no SQLSTATE (a client-side
    failure, a pool timeout), class 08 (connection exception, PgBouncer's
    login errors too) or 57P (shut down, starting up). Not a statement the
    standby cancelled (57014, or 40001 on a recovery conflict)."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith(("08", "57P"))


@dataclass
class ServerState:
    usable: bool = False
    lag_seconds: float | None = None
    behind_bytes: int | None = None
    error: str | None = None
    checked_at: float = -math.inf  # time.monotonic() the last check started
    # When the last check that found it usable started: what it found is
    # trusted for VALID_CHECKS check intervals, no longer (a check may hang).
    ok_at: float = -math.inf
    # When the check whose finding this is started: a slower, older check
    # (one that waited on a standby since restarted) must not overwrite it.
    found_at: float = -math.inf
    task: asyncio.Task[None] | None = None


# One row: is this a standby, is it streaming, how far behind is it.
CHECK_SQL = """
SELECT pg_is_in_recovery() AS standby,
       pg_is_in_recovery() AND pg_is_wal_replay_paused() AS paused,
       -- Its status is hidden from roles without pg_read_all_stats; the row
       -- itself (a WAL receiver runs: it exits when its primary is gone) is not.
       (SELECT coalesce(status, 'running') FROM pg_stat_wal_receiver) AS receiver,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) AS behind_bytes,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp()) AS replay_age
"""


def lag_of(row: dict[str, Any]) -> float:
    """Seconds the standby is behind what its primary acknowledged (0 for a
    primary: a `_replica` route with no standby behind it)."""
    if not row["standby"]:
        return 0.0
    if row["receiver"] not in {"streaming", "running"}:
        # Not receiving: the primary may be far ahead, by how much is unknown.
        return math.inf
    behind = row["behind_bytes"]
    if behind is not None and behind <= 0:
        return 0.0
    if row["paused"] or row["replay_age"] is None:
        return math.inf
    return max(0.0, float(row["replay_age"]))


class Health:
    """What this process knows of each server's replica (one per runtime)."""

    def __init__(self) -> None:
        self.servers: dict[str, ServerState] = {}

    def state(self, server: str) -> ServerState:
        st = self.servers.get(server)
        if st is None:
            st = self.servers[server] = ServerState()
        return st

    def usable(self, server: str) -> bool:
        st = self.state(server)
        if st.task is None and time.monotonic() - st.checked_at >= settings.REPLICA_CHECK_SECONDS:
            st.checked_at = time.monotonic()
            # A task of its own: no read waits for a check; and no statement
            # scope of the read's context counts it.
            st.task = asyncio.get_running_loop().create_task(
                self._check_in_background(server), context=contextvars.Context()
            )
        trusted_for = VALID_CHECKS * settings.REPLICA_CHECK_SECONDS
        return st.usable and time.monotonic() - st.ok_at <= trusted_for

    def mark_down(self, server: str, exc: BaseException) -> None:
        st = self.state(server)
        if st.usable:
            log.warning("replica of %s failed, reading from its primary: %s", server, exc)
        # A check that started before this failure must not undo it.
        st.usable, st.error, st.found_at = False, str(exc), time.monotonic()

    async def _check_in_background(self, server: str) -> None:
        try:
            await self.check(server)
        finally:
            self.state(server).task = None

    async def check(self, server: str) -> ServerState:
        """Ask `server`'s replica how far behind it is, and note whether it may
        serve reads."""
        st = self.state(server)
        started = time.monotonic()
        try:
            pool = runtime.pool(server, PURPOSE)
            async with pool.connection(timeout=CHECK_TIMEOUT) as conn:
                cur = await conn.execute(CHECK_SQL.encode())
                row: dict[str, Any] | None = await cur.fetchone()  # type: ignore[assignment]
            assert row is not None
        except Exception as exc:  # down, refusing, or the pool is closing
            if started < st.found_at:
                return st
            st.found_at = started
            if st.usable:
                log.warning("replica of %s unreachable, reading from its primary: %s", server, exc)
            st.usable, st.error, st.lag_seconds = False, str(exc), None
            return st
        if started < st.found_at:
            return st
        st.found_at = started
        lag = lag_of(row)
        usable = lag <= settings.REPLICA_MAX_LAG_SECONDS
        if usable != st.usable:
            log.info(
                "replica of %s %s (lag %.3f s, %s bytes)",
                server,
                "serves reads" if usable else "lags: reading from its primary",
                lag,
                row["behind_bytes"],
            )
        st.usable, st.error, st.lag_seconds = usable, None, lag
        if usable:
            st.ok_at = started
        st.behind_bytes = None if row["behind_bytes"] is None else int(row["behind_bytes"])
        return st

    async def close(self) -> None:
        for st in self.servers.values():
            if st.task is not None:
                st.task.cancel()
                with contextlib.suppress(BaseException):
                    await st.task


CHECK_TIMEOUT = 5.0
VALID_CHECKS = 2
_SERVICE = "replica_health"


def _health() -> Health:
    rt = runtime.current()
    health = rt.services.get(_SERVICE)
    if health is None:
        health = rt.services[_SERVICE] = Health()
        rt.extras.append(health.close)
    assert isinstance(health, Health)
    return health


def state(server: str) -> ServerState:
    """What this process last found of `server`'s replica."""
    return _health().state(server)


async def acheck_all() -> dict[str, ServerState]:
    """Check every server's replica now (not waiting for the next background
    check): for `/readyz`-style reports and for tests."""
    health = _health()
    servers = [runtime.DIRECTORY, *settings.SHARD_SERVERS]
    await asyncio.gather(*(health.check(s) for s in servers))
    return {s: health.state(s) for s in servers}
