"""The logical→physical shard map as every process sees it.

The map lives in the directory database (ShardPlacement + ShardMapVersion).
Each process keeps a copy and re-reads the version at most every
MAP_CHECK_SECONDS; when the version moved, it reloads the placement. A query
that hits a schema which has moved away fails and calls `refresh(force=True)`
before retrying, so a move is seen at once by whoever needs it.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.shards.ids import MAX_LOGICAL_SHARDS, schema_name, shard_of
from backend.shards.models import ShardMapVersion, ShardPlacement

MAP_CHECK_SECONDS = 1.0


class ShardMapError(RuntimeError):
    pass


@dataclass(frozen=True)
class Location:
    server: str
    logical: int

    @property
    def schema(self) -> str:
        return schema_name(self.logical)


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

    def locate(self, logical: int) -> Location:
        return Location(self.server_of(logical), logical)

    def locate_id(self, value: int) -> Location:
        """Where the row keyed by (or owned by) ID `value` lives; no I/O."""
        return self.locate(shard_of(value))

    def shards_on(self, server: str) -> list[int]:
        return [i for i, s in enumerate(self.placement) if s == server]

    def group(self, keys: Iterable[int]) -> dict[str, dict[int, list[int]]]:
        """Keys grouped by physical server, then logical shard."""
        out: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for key in keys:
            logical = shard_of(key)
            out[self.server_of(logical)][logical].append(key)
        return out


_lock = threading.Lock()
_current: ShardMap | None = None
_checked_at = 0.0


def _read_version() -> int:
    row = ShardMapVersion.objects.filter(id=1).values_list("version", flat=True).first()
    if row is None:
        raise ShardMapError("the shard map is empty: run `manage.py migrate_shards`")
    return int(row)


def _load() -> ShardMap:
    with transaction.atomic(using="default"):
        version = _read_version()
        rows = list(ShardPlacement.objects.order_by("logical").values_list("logical", "server"))
    placement = tuple(server for _, server in rows)
    if [logical for logical, _ in rows] != list(range(len(rows))):
        raise ShardMapError("the shard map has holes: run `manage.py shards check`")
    return ShardMap(version=version, placement=placement)


def refresh(*, force: bool = False) -> ShardMap:
    """The current map, re-validated against the directory when due (sync)."""
    global _current, _checked_at
    with _lock:
        now = time.monotonic()
        if _current is not None and not force and now - _checked_at < MAP_CHECK_SECONDS:
            return _current
        if _current is None or _read_version() != _current.version:
            _current = _load()
        _checked_at = now
        return _current


def get_map() -> ShardMap:
    return refresh()


async def aget_map() -> ShardMap:
    current = _current
    if current is not None and time.monotonic() - _checked_at < MAP_CHECK_SECONDS:
        return current
    return await _arefresh(force=False)


async def arefresh() -> ShardMap:
    return await _arefresh(force=True)


async def _arefresh(*, force: bool) -> ShardMap:
    # thread_sensitive: in a request, the request's own sync thread, which
    # already holds a directory connection. A pool thread would need a second
    # one, and requests holding all of the pool would then wait on each other.
    return await sync_to_async(refresh, thread_sensitive=True)(force=force)


def initial_placement(logical_count: int, servers: list[str]) -> list[str]:
    """Round-robin placement of `logical_count` shards over `servers`."""
    if not 1 <= logical_count <= MAX_LOGICAL_SHARDS:
        raise ShardMapError(f"LOGICAL_SHARDS must be 1..{MAX_LOGICAL_SHARDS}")
    return [servers[i % len(servers)] for i in range(logical_count)]


def ensure_map() -> ShardMap:
    """Create the map on first run, or extend it to LOGICAL_SHARDS; never shrink."""
    servers = list(settings.SHARD_SERVERS)
    wanted = initial_placement(settings.LOGICAL_SHARDS, servers)
    with transaction.atomic(using="default"):
        version, _ = ShardMapVersion.objects.select_for_update().get_or_create(id=1)
        existing = ShardPlacement.objects.count()
        if existing > len(wanted):
            raise ShardMapError(
                f"the map has {existing} logical shards, LOGICAL_SHARDS asks for "
                f"{len(wanted)}: logical shards cannot be removed"
            )
        if existing < len(wanted):
            ShardPlacement.objects.bulk_create(
                ShardPlacement(logical=i, server=wanted[i]) for i in range(existing, len(wanted))
            )
            version.version += 1
            version.save(update_fields=["version"])
    unknown = {s for s in ShardPlacement.objects.values_list("server", flat=True)} - set(servers)
    if unknown:
        raise ShardMapError(f"the map places shards on unknown servers: {sorted(unknown)}")
    return refresh(force=True)


def set_placement(logical: int, server: str) -> int:
    """Point `logical` at `server` and bump the version; returns the new version."""
    with transaction.atomic(using="default"):
        version = ShardMapVersion.objects.select_for_update().get(id=1)
        updated = ShardPlacement.objects.filter(logical=logical).update(
            server=server, updated_at=timezone.now()
        )
        if updated != 1:
            raise ShardMapError(f"logical shard {logical} is not in the map")
        version.version += 1
        version.save(update_fields=["version"])
        return version.version
