"""The one owner of this process's event loop and connections.

Every process opens its connections in exactly one place and closes them
there, on the one long-lived loop that uses them:

- web processes: the ASGI lifespan (backend/asgi.py);
- management commands and scripts: `run(main())`;
- Dramatiq workers: the worker's event loop thread (backend/queue.py).

What is opened: an async PostgreSQL pool per server (the directory and each
physical shard server, plus a second "nested" pool per shard server for
transactions opened while another is held, and a "replica" pool per server,
to its hot standby, for reads that may be stale: backend/shards/replicas.py),
the Redis client, the Memcached client. Domain code reaches them through
`current()`; nothing creates a pool on a loop it does not own, so no pool
outlives its loop.

`in_thread` is the one bridge to blocking code: CPU-bound work (password
hashing, image decoding) and libraries with no async API (boto3, Django's
migration executor, Dramatiq's sync broker). Never on the read path.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis
import redis.exceptions as redis_errors
from django.conf import settings
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from psycopg_pool.base import AttemptWithBackoff

from backend.memcache import Memcache

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")

# The directory database's name among the servers: its Django alias too, so
# statement counts (backend.shards.stats) read the same for ORM and pool.
DIRECTORY = "default"
CLOSE_TIMEOUT = 5.0


# What the Redis client raises while Redis is down or restarting.
REDIS_UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
)


class NoRuntime(RuntimeError):
    pass


def conninfo(server: str) -> str:
    """How the app reaches `server`: through its PgBouncer (transaction
    pooling), so no session state may outlive a transaction."""
    if server == DIRECTORY:
        return str(settings.DIRECTORY_DATABASE_URL)
    try:
        return str(settings.SHARD_SERVERS[server])
    except KeyError:
        raise KeyError(f"unknown database server {server!r}") from None


def direct_conninfo(server: str) -> str:
    """`server`'s PostgreSQL itself, bypassing PgBouncer: for what needs a
    session (migrations' SET search_path, shard moves, LISTEN). Never on the
    request path."""
    if server == DIRECTORY:
        return str(settings.DIRECTORY_DIRECT_DATABASE_URL)
    try:
        return str(settings.SHARD_DIRECT_SERVERS[server])
    except KeyError:
        raise KeyError(f"unknown database server {server!r}") from None


def pool_conninfo(server: str, purpose: str) -> str:
    """The PgBouncer database of `server`'s pool for `purpose` (main, nested, replica)."""
    info = conninfo(server)
    suffix = {
        "nested": str(settings.DB_NESTED_POOL_SUFFIX),
        "replica": str(settings.DB_REPLICA_POOL_SUFFIX),
    }.get(purpose, "")
    if not suffix:
        return info
    # PgBouncer pools per database name: `<db>_nested` is the same database
    # with a pool of its own, `<db>_replica` the server's hot standby
    # (deploy/pgbouncer-databases.ini.template).
    dbname = conninfo_to_dict(info).get("dbname")
    return make_conninfo(info, dbname=f"{dbname}{suffix}")


# A connection idle longer than this is pinged before it is handed out: a
# server restarted meanwhile left it dead, and the pool then drops it and
# hands out another. Busy connections (reused within this) are not pinged,
# so the check costs nothing under load.
IDLE_CHECK_SECONDS = 2.0
_returned_at: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()


async def _check_if_idle(conn: AsyncConnection[Any]) -> None:
    returned = _returned_at.get(conn)
    if returned is None or time.monotonic() - returned > IDLE_CHECK_SECONDS:
        await AsyncConnectionPool.check_connection(conn)


async def _note_returned(conn: AsyncConnection[Any]) -> None:
    _returned_at[conn] = time.monotonic()


# psycopg_pool retries a failed connection after 1 s, then doubles the wait
# each time, with no ceiling but reconnect_timeout (5 minutes): after an
# outage of a minute its next try could be a minute away, and every request
# in between would time out with the server long back. We retry every second
# instead (with the pool's jitter): a refused or failed login is cheap, and a
# server that returns is used within a second
# (docs/decisions/0060-reads-that-degrade.md).
AttemptWithBackoff.DELAY_BACKOFF = 1.0


def _pool(server: str, purpose: str) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        pool_conninfo(server, purpose),
        # The replica pool connects on first use: with REPLICA_READS empty it
        # never does (backend/shards/replicas.py).
        min_size=0 if purpose == "replica" else 1,
        max_size=int(settings.DB_POOL_MAX),
        kwargs={
            "autocommit": True,
            "row_factory": dict_row,
            "connect_timeout": 5,
            # PgBouncer in transaction mode has no server-side prepared statements.
            "prepare_threshold": None,
        },
        name=f"{server}-{purpose}",
        timeout=10,
        open=False,
        check=_check_if_idle,
        configure=_note_returned,  # a new connection needs no ping
        reset=_note_returned,
    )


class Runtime:
    """Connections of one process, bound to the loop that opened them."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pools: dict[tuple[str, str], AsyncConnectionPool] = {}
        self.redis: aioredis.Redis | None = None
        self.memcache: Memcache | None = None
        # Clients made on first use (a worker's APNs client), by name, and
        # how to close them with the rest.
        self.services: dict[str, object] = {}
        self.extras: list[Callable[[], Coroutine[Any, Any, None]]] = []

    async def open(self) -> None:
        self.loop = asyncio.get_running_loop()
        servers = [DIRECTORY, *settings.SHARD_SERVERS]
        for server in servers:
            self.pools[(server, "main")] = _pool(server, "main")
            if server != DIRECTORY:
                self.pools[(server, "nested")] = _pool(server, "nested")
            self.pools[(server, "replica")] = _pool(server, "replica")
        # wait=False: a server that is down must not stop the process from
        # starting (/readyz reports it); its pool connects when it is back.
        for pool in self.pools.values():
            await pool.open(wait=False)
        self.redis = aioredis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5
        )
        self.memcache = Memcache(list(settings.MEMCACHED_LOCATION))

    async def close(self) -> None:
        for close in reversed(self.extras):
            with contextlib.suppress(Exception):
                await close()
        self.extras.clear()
        self.services.clear()
        if self.memcache is not None:
            await self.memcache.close()
        if self.redis is not None:
            await self.redis.aclose()
        await asyncio.gather(
            *(p.close(timeout=CLOSE_TIMEOUT) for p in self.pools.values()), return_exceptions=True
        )
        self.pools.clear()

    def pool(self, server: str, purpose: str = "main") -> AsyncConnectionPool:
        try:
            return self.pools[(server, purpose)]
        except KeyError:
            conninfo(server)  # unknown server: a clear KeyError
            raise


# By loop: connections belong to the loop that opened them, so a coroutine
# on another loop (a test's command run in a thread, say) must not get them.
_runtimes: dict[asyncio.AbstractEventLoop, Runtime] = {}


def current() -> Runtime:
    """The runtime of the running loop."""
    try:
        return _runtimes[asyncio.get_running_loop()]
    except KeyError:
        raise NoRuntime(
            "no runtime is open on this event loop: web processes open it at ASGI lifespan "
            "startup, commands through backend.runtime.run(), workers at boot"
        ) from None


def pool(server: str, purpose: str = "main") -> AsyncConnectionPool:
    return current().pool(server, purpose)


def redis() -> aioredis.Redis:
    client = current().redis
    assert client is not None
    return client


def memcache() -> Memcache:
    client = current().memcache
    assert client is not None
    return client


async def start() -> Runtime:
    """Open this process's connections on the running loop (once per loop)."""
    loop = asyncio.get_running_loop()
    if loop in _runtimes:
        raise RuntimeError("the runtime is already open on this loop")
    runtime = _runtimes[loop] = Runtime()
    try:
        await runtime.open()
    except BaseException:
        del _runtimes[loop]
        await runtime.close()
        raise
    return runtime


async def stop() -> None:
    """Close everything `start` opened on this loop."""
    runtime = _runtimes.pop(asyncio.get_running_loop(), None)
    if runtime is not None:
        await runtime.close()


@contextlib.asynccontextmanager
async def running() -> AsyncIterator[Runtime]:
    runtime = await start()
    try:
        yield runtime
    finally:
        await stop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine on one new loop with the runtime open, and
    close everything before returning (for commands, scripts, benchmarks)."""

    async def wrapped() -> T:
        async with running():
            return await main

    return asyncio.run(wrapped())


async def in_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run blocking `fn` in the loop's default executor (see the module docstring)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))
