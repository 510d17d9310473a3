"""The logical→physical shard map as every process sees it.

The map lives in the directory database (ShardPlacement + ShardMapVersion).
Each process keeps a copy and re-reads the version at most every
MAP_CHECK_SECONDS; when the version moved, it reloads the placement. A query
that hits a schema which has moved away fails and calls `refresh(force=True)`
before retrying, so a move is seen at once by whoever needs it. Reads and
writes go over the runtime's directory pool (no ORM: no thread hop).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from django.conf import settings

from backend.shards import db, stats
from backend.shards.db import Row
from backend.shards.ids import MAX_LOGICAL_SHARDS, shard_of
from backend.shards.models import ServerEndpoint, ShardMapVersion, ShardPlacement

MAP_CHECK_SECONDS = 1.0


class ShardMapError(RuntimeError):
    pass


@dataclass(frozen=True)
class ShardMap:
    version: int
    placement: tuple[str, ...]  # index: logical shard, value: physical server name

    @property
    def logical_count(self) -> int:
        return len(self.placement)

    def server_of(self, logical: int) -> str:
        try:
            return self.placement[logical]
        except IndexError:
            raise ShardMapError(f"logical shard {logical} is not in the map") from None

    def shards_on(self, server: str) -> list[int]:
        return [i for i, s in enumerate(self.placement) if s == server]

    def group(self, keys: Iterable[int]) -> dict[str, dict[int, list[int]]]:
        """Keys grouped by physical server, then logical shard."""
        out: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for key in keys:
            logical = shard_of(key)
            out[self.server_of(logical)][logical].append(key)
        return out


VERSION = ShardMapVersion._meta.db_table
PLACEMENT = ShardPlacement._meta.db_table
ENDPOINTS = ServerEndpoint._meta.db_table


@dataclass(frozen=True)
class Endpoint:
    """A physical server's primary and hot standby (direct URLs) now."""

    server: str
    primary: str
    standby: str
    generation: int


_endpoints: dict[str, Endpoint] = {}


def endpoints() -> dict[str, Endpoint]:
    """The registry as of this process's last map load."""
    return dict(_endpoints)


async def read_endpoints(conn: psycopg.AsyncConnection[Row]) -> dict[str, Endpoint]:
    cur = await conn.execute(
        f'SELECT server, "primary", standby, generation FROM "{ENDPOINTS}" ORDER BY server'
    )
    return {
        str(r["server"]): Endpoint(
            str(r["server"]), str(r["primary"]), str(r["standby"]), int(r["generation"])
        )
        for r in await cur.fetchall()
    }


_current: ShardMap | None = None
_checked_at = 0.0
# The check in flight on each event loop (refresh).
_inflight: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[ShardMap]] = (
    weakref.WeakKeyDictionary()
)


async def _read_version(conn: psycopg.AsyncConnection[Row]) -> int:
    cur = await conn.execute(f'SELECT version FROM "{VERSION}" WHERE id = 1')
    row = await cur.fetchone()
    if row is None:
        raise ShardMapError("the shard map is empty: run `manage.py migrate_shards`")
    return int(row["version"])


async def _load(conn: psycopg.AsyncConnection[Row]) -> ShardMap:
    async with conn.transaction():
        version = await _read_version(conn)
        cur = await conn.execute(f'SELECT logical, server FROM "{PLACEMENT}" ORDER BY logical')
        rows = await cur.fetchall()
        # A failover moves a primary and bumps the version with it.
        _endpoints.clear()
        _endpoints.update(await read_endpoints(conn))
        db.use_primaries({name: e.primary for name, e in _endpoints.items()})
    placement = tuple(str(r["server"]) for r in rows)
    if [int(r["logical"]) for r in rows] != list(range(len(rows))):
        raise ShardMapError("the shard map has holes: run `manage.py shards check`")
    return ShardMap(version=version, placement=placement)


async def refresh(*, force: bool = False) -> ShardMap:
    """The current map, re-validated against the directory when due.

    Single flight per event loop: the resolvers of one page that all find the
    check due share one read of the directory instead of making one each
    (a page of 20 photos made 20 under load, and its loaders' batches split
    around them). `force` (after a routing miss) always reads anew.
    """
    if _current is not None and not force and time.monotonic() - _checked_at < MAP_CHECK_SECONDS:
        return _current
    loop = asyncio.get_running_loop()
    pending = _inflight.get(loop)
    if pending is not None and not force:
        return await asyncio.shield(pending)
    task = loop.create_task(_check())
    _inflight[loop] = task
    try:
        return await asyncio.shield(task)
    finally:
        if _inflight.get(loop) is task:
            del _inflight[loop]


async def _check() -> ShardMap:
    global _current, _checked_at
    now = time.monotonic()
    async with db.aconnection(db.DIRECTORY) as conn:
        stats.record(db.DIRECTORY)
        if _current is None or await _read_version(conn) != _current.version:
            _current = await _load(conn)
    _checked_at = now
    return _current


async def aget_map() -> ShardMap:
    current = _current
    if current is not None and time.monotonic() - _checked_at < MAP_CHECK_SECONDS:
        return current
    return await refresh()


async def arefresh() -> ShardMap:
    return await refresh(force=True)


def initial_placement(logical_count: int, servers: list[str]) -> list[str]:
    """Round-robin placement of `logical_count` shards over `servers`."""
    if not 1 <= logical_count <= MAX_LOGICAL_SHARDS:
        raise ShardMapError(f"LOGICAL_SHARDS must be 1..{MAX_LOGICAL_SHARDS}")
    return [servers[i % len(servers)] for i in range(logical_count)]


async def ensure_map() -> ShardMap:
    """Create the map on first run, or extend it to LOGICAL_SHARDS; never shrink."""
    servers = list(settings.SHARD_SERVERS)
    wanted = initial_placement(settings.LOGICAL_SHARDS, servers)
    async with db.aconnection(db.DIRECTORY) as conn, conn.transaction():
        await conn.execute(
            f'INSERT INTO "{VERSION}" (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING'
        )
        await conn.execute(f'SELECT version FROM "{VERSION}" WHERE id = 1 FOR UPDATE')
        cur = await conn.execute(f'SELECT count(*) AS n FROM "{PLACEMENT}"')
        row = await cur.fetchone()
        existing = int(row["n"]) if row else 0
        if existing > len(wanted):
            raise ShardMapError(
                f"the map has {existing} logical shards, LOGICAL_SHARDS asks for "
                f"{len(wanted)}: logical shards cannot be removed"
            )
        if existing < len(wanted):
            await conn.execute(
                f'INSERT INTO "{PLACEMENT}" (logical, server, updated_at) '
                "SELECT i, s, now() FROM unnest(%s::int[], %s::text[]) AS t(i, s)",
                [list(range(existing, len(wanted))), wanted[existing:]],
            )
            await conn.execute(f'UPDATE "{VERSION}" SET version = version + 1 WHERE id = 1')
        # The endpoint registry starts from the settings; after that it is
        # what counts (a failover rewrites it).
        primaries = settings.SHARD_DIRECT_SERVERS
        standbys = settings.SHARD_STANDBY_SERVERS
        await conn.execute(
            f'INSERT INTO "{ENDPOINTS}" (server, "primary", standby, generation, updated_at) '
            "SELECT s, p, b, 1, now() FROM unnest(%s::text[], %s::text[], %s::text[]) "
            "AS t(s, p, b) ON CONFLICT (server) DO NOTHING",
            [servers, [primaries[s] for s in servers], [standbys.get(s, "") for s in servers]],
        )
        cur = await conn.execute(f'SELECT DISTINCT server FROM "{PLACEMENT}"')
        unknown = {str(r["server"]) for r in await cur.fetchall()} - set(servers)
    if unknown:
        raise ShardMapError(f"the map places shards on unknown servers: {sorted(unknown)}")
    return await refresh(force=True)


async def set_placement(logical: int, server: str) -> int:
    """Point `logical` at `server` and bump the version; returns the new version."""
    async with db.aconnection(db.DIRECTORY) as conn, conn.transaction():
        cur = await conn.execute(
            f'UPDATE "{VERSION}" SET version = version + 1 WHERE id = 1 RETURNING version'
        )
        row = await cur.fetchone()
        if row is None:
            raise ShardMapError("the shard map is empty: run `manage.py migrate_shards`")
        cur = await conn.execute(
            f'UPDATE "{PLACEMENT}" SET server = %s, updated_at = now() WHERE logical = %s',
            [server, logical],
        )
        if cur.rowcount != 1:
            raise ShardMapError(f"logical shard {logical} is not in the map")
        return int(row["version"])
