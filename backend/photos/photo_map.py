"""The Redis photo→owner map: who owns photo X, with no database read.

Layout (docs/decisions/0005-photo-map.md). A photo and its owner share the
logical shard, so one Redis hash per logical shard, `pm:<shard>`, holds that
shard's photos, and neither ID needs its 13 shard bits stored. What is left of
an ID is its 50-bit "local" number `ms << 10 | sequence`. Its top 10 bits pick
a root window of 2**30 ms (12.4 days); inside a window a photo is a 12-byte
record: 5 bytes of offset in the window, 7 bytes of the owner's local number.
A bucket is a hash field whose value is its records, sorted by offset.

Buckets hold at most BUCKET_RECORDS records, whatever the load: a bucket that
would grow past it is split in two halves of its offset range (the field
becomes an empty marker, the halves are its children in heap numbering,
field `<window>:<node>`), recursively, so a quiet shard keeps a window in one
bucket and a burst (a single ms holds at most 1024 IDs per shard) ends in
small buckets. Lookups walk from the root field down the markers; all of it
runs in Lua scripts (EVALSHA), so a lookup is one round trip and a batch is
one pipelined round trip.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import redis
import redis.asyncio as aioredis

from backend import runtime
from backend.errors import InvalidInput
from backend.photos.photo_map_scripts import (
    BUCKET_RECORDS,
    CHUNK,
    GET_RECORD_BYTES,
    GET_SCRIPT,
    OFFSET_BYTES,
    OWNER_BYTES,
    PREFIX,
    RECORD_BYTES,
    REMOVE_SCRIPT,
    ROOT_BITS,
    SET_SCRIPT,
    _Script,
)
from backend.shards import routing
from backend.shards.ids import SEQUENCE_BITS, SEQUENCE_MASK, SHARD_BITS, min_id_at, shard_of

# (KEYS, ARGV) of one script call; ARGV holds ints, which redis-py's stubs type as str
Call = tuple[list[str], list[Any]]


# ---------------------------------------------------------------- ID arithmetic


def map_key(shard: int) -> str:
    """The hash that holds logical shard `shard`'s photos."""
    return f"{PREFIX}{shard}"


def local_part(value: int) -> int:
    """An ID without its shard bits: `ms << 10 | sequence` (50 bits)."""
    return ((value >> (SHARD_BITS + SEQUENCE_BITS)) << SEQUENCE_BITS) | (value & SEQUENCE_MASK)


def from_local(shard: int, local: int) -> int:
    """The ID whose shard bits are `shard` and other bits `local`."""
    ms, sequence = local >> SEQUENCE_BITS, local & SEQUENCE_MASK
    return (ms << (SHARD_BITS + SEQUENCE_BITS)) | (shard << SEQUENCE_BITS) | sequence


def _valid(value: int) -> bool:
    return 0 < value < (1 << 63)


def check_pair(photo_id: int, owner_id: int) -> None:
    """Raise InvalidInput unless both are IDs and on the same logical shard."""
    if not (_valid(photo_id) and _valid(owner_id)):
        raise InvalidInput(f"not a 64-bit ID: {photo_id} / {owner_id}")
    if shard_of(photo_id) != shard_of(owner_id):
        raise InvalidInput(f"photo {photo_id} is not on its owner's ({owner_id}) logical shard")


# ---------------------------------------------------------------- script calls


def _calls(rows: Sequence[tuple[int, ...]]) -> list[Call]:
    """Chunk sorted (shard, photo local, ...) rows into script calls."""
    calls: list[Call] = []
    for start in range(0, len(rows), CHUNK):
        keys: list[str] = []
        argv: list[Any] = []
        index: dict[int, int] = {}
        for shard, *rest in rows[start : start + CHUNK]:
            if shard not in index:
                keys.append(map_key(shard))
                index[shard] = len(keys)
            argv.append(index[shard])
            argv.extend(rest)
        calls.append((keys, argv))
    return calls


def _get_calls(rows: Sequence[tuple[int, int]]) -> list[Call]:
    """Like _calls, with each chunk's (key index, photo local) pairs packed into
    one argument (see GET_SCRIPT)."""
    calls: list[Call] = []
    for start in range(0, len(rows), CHUNK):
        keys: list[str] = []
        index: dict[int, int] = {}
        packed: list[bytes] = []
        for shard, local in rows[start : start + CHUNK]:
            if shard not in index:
                keys.append(map_key(shard))
                index[shard] = len(keys)
            packed.append(((index[shard] << 56) | local).to_bytes(GET_RECORD_BYTES, "big"))
        calls.append((keys, [b"".join(packed)]))
    return calls


def _set_calls(pairs: Iterable[tuple[int, int]]) -> list[Call]:
    latest: dict[int, int] = {}
    for photo_id, owner_id in pairs:
        check_pair(photo_id, owner_id)
        latest[photo_id] = owner_id  # last write wins, like repeated set_owner
    rows = sorted((shard_of(p), local_part(p), local_part(o)) for p, o in latest.items())
    return _calls(rows)


def _id_rows(photo_ids: Iterable[int]) -> list[tuple[int, int]]:
    return sorted({(shard_of(p), local_part(p)) for p in photo_ids if _valid(p)})


def _owners(rows: list[tuple[int, int]], results: list[Any]) -> dict[int, int]:
    found = [owner for chunk in results for owner in chunk]
    return {
        from_local(shard, local): from_local(shard, int(owner))
        for (shard, local), owner in zip(rows, found, strict=True)
        if owner is not None
    }


# ---------------------------------------------------------------- API


def aclient() -> aioredis.Redis:
    """This process's Redis client (shared with the feeds)."""
    return runtime.redis()


async def _arun(script: _Script, calls: list[Call]) -> list[Any]:
    """All calls in one pipelined round trip (a second after a script flush).

    Every script is idempotent, so re-running a partly executed pipeline is safe.
    """
    if not calls:
        return []
    conn = aclient()
    for attempt in (1, 2):
        pipe = conn.pipeline(transaction=False)
        for keys, argv in calls:
            pipe.evalsha(script.sha, len(keys), *keys, *argv)
        try:
            return list(await pipe.execute())
        except redis.exceptions.NoScriptError:
            if attempt == 2:
                raise
            await conn.script_load(script.source)
    raise AssertionError("unreachable")


async def aset_owner(photo_id: int, owner_id: int) -> None:
    """Record that `owner_id` owns `photo_id` (both on the same logical shard)."""
    await aset_owners([(photo_id, owner_id)])


async def aset_owners(pairs: Iterable[tuple[int, int]]) -> None:
    """Record many (photo_id, owner_id) pairs; pipelined, CHUNK pairs per script call."""
    calls = _set_calls(pairs)
    for start in range(0, len(calls), 50):  # bound one round trip's payload
        await _arun(SET_SCRIPT, calls[start : start + 50])


async def aget_owner(photo_id: int) -> int | None:
    """The owner of `photo_id`, or None when the map has no entry."""
    return (await aget_owners([photo_id])).get(photo_id)


async def aget_owners(photo_ids: Sequence[int]) -> dict[int, int]:
    """Owners of `photo_ids` in one round trip; IDs without an entry are absent."""
    rows = _id_rows(photo_ids)
    return _owners(rows, await _arun(GET_SCRIPT, _get_calls(rows)))


async def aremove(photo_id: int) -> None:
    """Forget `photo_id` (no error when it has no entry)."""
    await aremove_many([photo_id])


async def aremove_many(photo_ids: Iterable[int]) -> int:
    """Forget many photos; returns how many had an entry."""
    return sum(int(n) for n in await _arun(REMOVE_SCRIPT, _calls(_id_rows(photo_ids))))


# ---------------------------------------------------------------- rebuild


def pack_shard(pairs: Iterable[tuple[int, int]]) -> dict[str, bytes]:
    """The hash fields of one shard holding exactly `pairs` (photo_id, owner_id).

    Same layout as the scripts build incrementally: a window's records in its
    root bucket, split in halves while a bucket has more than BUCKET_RECORDS.
    """
    windows: dict[int, list[tuple[int, int]]] = {}
    for photo_id, owner_id in pairs:
        check_pair(photo_id, owner_id)
        window, offset = divmod(local_part(photo_id), 1 << ROOT_BITS)
        windows.setdefault(window, []).append((offset, local_part(owner_id)))
    fields: dict[str, bytes] = {}
    for window, records in windows.items():
        records.sort()
        _pack(fields, window, 1, ROOT_BITS, records)
    return fields


def _pack(
    fields: dict[str, bytes], window: int, node: int, bits: int, records: list[tuple[int, int]]
) -> None:
    if not records:
        return
    if len(records) <= BUCKET_RECORDS:
        fields[f"{window}:{node}"] = b"".join(
            o.to_bytes(OFFSET_BYTES, "big") + owner.to_bytes(OWNER_BYTES, "big")
            for o, owner in records
        )
        return
    fields[f"{window}:{node}"] = b""
    middle = ((node - (1 << (ROOT_BITS - bits))) << bits) + (1 << (bits - 1))
    cut = bisect_left(records, (middle, -1))
    _pack(fields, window, 2 * node, bits - 1, records[:cut])
    _pack(fields, window, 2 * node + 1, bits - 1, records[cut:])


async def areplace_shard(shard: int, pairs: Iterable[tuple[int, int]]) -> int:
    """Atomically replace shard `shard`'s part of the map with `pairs`.

    One MULTI/EXEC: lookups see the old part until the new one is complete.
    Returns the number of buckets written.
    """
    fields = pack_shard(pairs)
    key = map_key(shard)
    pipe = aclient().pipeline(transaction=True)
    pipe.unlink(key)  # the old hash is freed off the main thread
    items = list(fields.items())
    for start in range(0, len(items), 256):
        pipe.hset(key, mapping=dict(items[start : start + 256]))
    await pipe.execute()
    return sum(1 for value in fields.values() if value)


# Photos inserted in transactions that began this long before a shard's snapshot
# and committed after it are caught up after the swap (see rebuild_shard).
CATCH_UP = timedelta(minutes=5)


async def arebuild_shard(shard: int) -> tuple[int, int]:
    """Rewrite logical shard `shard`'s part of the map from its photos table.

    Reads the rows, swaps the shard's hash atomically (lookups keep answering
    from the old one until then), then re-applies rows with IDs minted since
    CATCH_UP before the read, so an upload whose set_owner ran between the
    read and the swap is not lost. Returns (photos mapped, rows skipped
    because their owner is on another shard, which the layout cannot hold).
    """
    started = datetime.now(UTC)
    sql = "SELECT id, owner_id FROM {schema}.photos_photo"
    rows = await routing.aquery(shard, sql)
    pairs = [(r["id"], r["owner_id"]) for r in rows if shard_of(r["owner_id"]) == shard]
    await areplace_shard(shard, pairs)
    recent = await routing.aquery(shard, sql + " WHERE id >= %s", [min_id_at(started - CATCH_UP)])
    await aset_owners((r["id"], r["owner_id"]) for r in recent if shard_of(r["owner_id"]) == shard)
    return len(pairs), len(rows) - len(pairs)


async def astale_keys(logical_count: int) -> list[str]:
    """Map keys of shards at or past `logical_count` (they can hold no photo)."""
    out = []
    async for raw in aclient().scan_iter(match=f"{PREFIX}*", count=1000):
        name = raw.decode()
        suffix = name.removeprefix(PREFIX)
        if suffix.isdigit() and int(suffix) >= logical_count:
            out.append(name)
    return out


async def abucket_sizes(shard: int) -> dict[str, int]:
    """Records per bucket of one shard (markers left out): for tests and benchmarks."""
    buckets = cast(dict[bytes, bytes], await aclient().hgetall(map_key(shard)))  # type: ignore[misc]
    return {field.decode(): len(value) // RECORD_BYTES for field, value in buckets.items() if value}
