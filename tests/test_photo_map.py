"""The Redis photo→owner map against the stack's real Redis and shards.

Synthetic entries (no photo row) live on shards the rebuild tests never
rebuild in parallel: 0, 8191 and 512+ (past the stack's LOGICAL_SHARDS); the
rebuild tests insert real rows on shards 1..511 and rebuild only those. The
full rebuild (which drops keys of shards past LOGICAL_SHARDS) is serial.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.management import call_command

from backend.errors import InvalidInput
from backend.photos import photo_map
from backend.shards import routing
from backend.shards.ids import MAX_TIME_MS, SEQUENCE_MASK, encode_id, shard_of

ROOT = Path(__file__).resolve().parent.parent


def user_id(shard: int, rng: random.Random) -> int:
    return encode_id(ms=rng.randrange(1, 10**10), shard=shard, sequence=rng.randrange(1024))


def fresh_ms(rng: random.Random) -> int:
    """A random ms far from other tests' (a 2**40 ms range)."""
    return rng.randrange(10**9, MAX_TIME_MS - 10**7)


async def test_set_get_remove_one() -> None:
    rng = random.Random()
    shard = rng.randrange(512, 8192)
    owner = user_id(shard, rng)
    photo = encode_id(ms=fresh_ms(rng), shard=shard, sequence=rng.randrange(1024))
    assert await photo_map.aget_owner(photo) is None
    await photo_map.aset_owner(photo, owner)
    assert await photo_map.aget_owner(photo) == owner
    other = user_id(shard, rng)
    await photo_map.aset_owner(photo, other)  # overwrite
    assert await photo_map.aget_owner(photo) == other
    await photo_map.aremove(photo)
    assert await photo_map.aget_owner(photo) is None
    await photo_map.aremove(photo)  # removing twice is fine


async def test_batches_on_edge_shards_and_times() -> None:
    rng = random.Random()
    base = fresh_ms(rng)
    pairs: dict[int, int] = {}
    for shard in (0, 1, 511, 512, 4095, 8191, *rng.sample(range(8192), 20)):
        owner = user_id(shard, rng)
        for ms, seq in ((base, 0), (base, SEQUENCE_MASK), (base + 1, 7), (base + 10**6, 3)):
            pairs[encode_id(ms=ms, shard=shard, sequence=seq)] = owner
    # Extreme times: the first ms of the epoch and the last positive one. Several
    # tests could write these, so each uses its own owner and checks only itself.
    edge_shard = rng.randrange(512, 8192)
    edges = {
        encode_id(ms=0, shard=edge_shard, sequence=rng.randrange(1, 1024)): user_id(
            edge_shard, rng
        ),
        encode_id(ms=MAX_TIME_MS, shard=edge_shard, sequence=rng.randrange(1024)): encode_id(
            ms=MAX_TIME_MS, shard=edge_shard, sequence=SEQUENCE_MASK
        ),
    }
    await photo_map.aset_owners(list(pairs.items()) + list(edges.items()))
    missing = [encode_id(ms=base + 2, shard=s, sequence=0) for s in (0, 8191)]
    got = await photo_map.aget_owners([*pairs, *edges, *missing, 0, -5])
    assert {p: got.get(p) for p in pairs} == pairs
    assert {p: got.get(p) for p in edges} == edges
    assert not set(got) & {*missing, 0, -5}
    assert await photo_map.aget_owner(0) is None

    assert await photo_map.aremove_many([*pairs, *edges]) == len(pairs) + len(edges)
    assert await photo_map.aget_owners([*pairs, *edges]) == {}


async def test_owner_must_share_the_photo_shard() -> None:
    rng = random.Random()
    photo = encode_id(ms=fresh_ms(rng), shard=600, sequence=1)
    with pytest.raises(InvalidInput):
        await photo_map.aset_owner(photo, user_id(601, rng))
    with pytest.raises(InvalidInput):
        await photo_map.aset_owners([(photo, 0)])
    assert await photo_map.aget_owner(photo) is None


async def test_async_api() -> None:
    rng = random.Random()
    shard = rng.randrange(512, 8192)
    owner = user_id(shard, rng)
    ms = fresh_ms(rng)
    photos = [encode_id(ms=ms, shard=shard, sequence=i) for i in range(5)]
    for p in photos:
        await photo_map.aset_owner(p, owner)
    assert await photo_map.aget_owner(photos[0]) == owner
    assert await photo_map.aget_owners(photos) == dict.fromkeys(photos, owner)
    await photo_map.aremove(photos[0])
    assert await photo_map.aget_owner(photos[0]) is None
    await photo_map.aremove_many(photos)


async def test_burst_stays_packed_and_answers() -> None:
    """3,000 photos in three ms of one shard (a burst past 1024 borrows the next ms)."""
    rng = random.Random()
    shard = rng.randrange(4096, 8192)
    owners = [user_id(shard, rng) for _ in range(50)]
    ms = fresh_ms(rng)
    pairs = {
        encode_id(ms=ms + i // 1024, shard=shard, sequence=i % 1024): rng.choice(owners)
        for i in range(3000)
    }
    # One by one, as uploads arrive, then a batch on top in the same window.
    items = list(pairs.items())
    for p, o in items[:1500]:
        await photo_map.aset_owner(p, o)
    await photo_map.aset_owners(items[1500:])

    key = photo_map.map_key(shard)
    client: Any = photo_map.aclient()  # redis-py stubs type replies as maybe-awaitable
    buckets = {
        field.decode(): value
        for field, value in cast(dict[bytes, bytes], await client.hgetall(key)).items()
        if value and field.decode().split(":")[0] == str(ms >> 30)
    }
    # Every bucket is packed: fixed 12-byte records, never more than the limit.
    assert all(len(v) % photo_map.RECORD_BYTES == 0 for v in buckets.values())
    counts = [len(v) // photo_map.RECORD_BYTES for v in buckets.values()]
    assert max(counts) <= photo_map.BUCKET_RECORDS
    assert sum(counts) >= 3000
    assert await client.object("encoding", key) in {b"hashtable", b"listpack"}
    assert await photo_map.aget_owners(list(pairs)) == pairs

    # Removing half leaves the other half answering and the buckets smaller.
    gone = list(pairs)[::2]
    await photo_map.aremove_many(gone)
    got = await photo_map.aget_owners(list(pairs))
    assert got == {p: o for p, o in pairs.items() if p not in set(gone)}
    await photo_map.aremove_many(pairs)


async def test_memory_per_mapping_in_a_shard_hash() -> None:
    """A shard's hash costs <= 16 bytes a mapping (MEMORY USAGE), at several rates."""
    rng = random.Random()
    shard = rng.randrange(4096, 8192)
    while await photo_map.aclient().exists(photo_map.map_key(shard)):
        shard = rng.randrange(4096, 8192)
    owners = [user_id(shard, rng) for _ in range(200)]
    start = 10**10
    pairs = {}
    # Quiet hours (one photo every ~10 minutes), a busy day and a burst.
    for i in range(2000):
        pairs[encode_id(ms=start + i * 600_000, shard=shard, sequence=0)] = rng.choice(owners)
    for i in range(6000):
        pairs[encode_id(ms=start + 10**8 + i * 14_000, shard=shard, sequence=1)] = owners[i % 7]
    for i in range(3000):
        pairs[encode_id(ms=start + 2 * 10**8 + i // 1024, shard=shard, sequence=i % 1024)] = owners[
            0
        ]
    items = list(pairs.items())
    for i in range(0, len(items), 100):
        await photo_map.aset_owners(items[i : i + 100])
    try:
        used = cast(
            int | None, await photo_map.aclient().memory_usage(photo_map.map_key(shard), samples=0)
        )
        assert used is not None
        assert used / len(pairs) <= 16, used / len(pairs)
        assert await photo_map.aget_owners(list(pairs)) == pairs
    finally:
        await photo_map.aclient().unlink(photo_map.map_key(shard))


async def insert_photos(shard: int, owners: list[int], n: int, tag: str) -> dict[int, int]:
    async def insert(conn, schema: str) -> dict[int, int]:
        out = {}
        for i in range(n):
            owner = owners[i % len(owners)]
            cur = await conn.execute(
                f"INSERT INTO {schema}.photos_photo (owner_id, width, height, key)"
                " VALUES (%s, 640, 480, %s) RETURNING id",
                (owner, f"pm-test-{tag}-{i}"),
            )
            row = await cur.fetchone()
            out[row["id"]] = owner
        return out

    return await routing.awrite(shard, insert)


async def delete_photos(shard: int, ids: list[int]) -> None:
    await routing.aquery(shard, "DELETE FROM {schema}.photos_photo WHERE id = ANY(%s)", [ids])


async def test_rebuild_reproduces_the_map_from_rows(unique: str) -> None:
    rng = random.Random()
    shards = rng.sample(range(1, 512), 2)
    inserted: dict[int, dict[int, int]] = {}
    for shard in shards:
        owners = [user_id(shard, rng) for _ in range(3)]
        inserted[shard] = await insert_photos(shard, owners, 40, f"{unique}-{shard}")
    try:
        shard = shards[0]
        rows = inserted[shard]
        first = next(iter(rows))
        stale = encode_id(ms=fresh_ms(rng), shard=shard, sequence=5)
        await photo_map.aset_owner(stale, user_id(shard, rng))  # no row: must go
        await photo_map.aset_owner(first, user_id(shard, rng))  # wrong owner: must be fixed
        out = io.StringIO()
        await asyncio.to_thread(
            call_command, "rebuild_photo_map", "--shard", str(shards[0]), "--shard",
            str(shards[1]), "--json", stdout=out,
        )  # fmt: skip
        summary = json.loads(out.getvalue())
        assert summary["shards"] == 2
        assert summary["photos_mapped"] >= 80
        every = {p: o for r in inserted.values() for p, o in r.items()}
        assert await photo_map.aget_owners([*every, stale]) == every
        assert all(shard_of(p) in shards for p in every)

        # A row deleted since is gone after the next rebuild of its shard.
        await delete_photos(shard, [first])
        await asyncio.to_thread(
            call_command, "rebuild_photo_map", "--shard", str(shard), stdout=io.StringIO()
        )
        assert await photo_map.aget_owner(first) is None
        assert await photo_map.aget_owners(list(rows)) == {
            p: o for p, o in rows.items() if p != first
        }
    finally:
        for shard, rows in inserted.items():
            await delete_photos(shard, list(rows))
        await photo_map.aremove_many(p for r in inserted.values() for p in r)


async def test_rebuild_rejects_unknown_shards() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        await asyncio.to_thread(
            call_command, "rebuild_photo_map", "--shard", "9000", stdout=io.StringIO()
        )


@pytest.mark.serial
async def test_full_rebuild_drops_keys_past_the_map(unique: str) -> None:
    rng = random.Random()
    shard = rng.randrange(1, 512)
    rows = await insert_photos(shard, [user_id(shard, rng)], 5, unique)
    outside = encode_id(ms=fresh_ms(rng), shard=8000, sequence=1)
    await photo_map.aset_owner(outside, user_id(8000, rng))
    try:
        out = io.StringIO()
        await asyncio.to_thread(call_command, "rebuild_photo_map", "--json", stdout=out)
        summary = json.loads(out.getvalue())
        assert summary["photos_mapped"] >= 5
        assert summary["stale_keys_dropped"] >= 1
        assert await photo_map.aget_owner(outside) is None
        assert await photo_map.aget_owners(list(rows)) == rows
    finally:
        await delete_photos(shard, list(rows))
        await photo_map.aremove_many(rows)


def test_help() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "rebuild_photo_map", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--json" in done.stdout and "--shard" in done.stdout
