"""Photo→owner map benchmark: bytes per mapping of backend.photos.photo_map vs plain keys.

Prints one JSON object to stdout (progress goes to stderr). Run through
`make bench`, or against a running stack:
    eval "$(scripts/stack.sh --profile test env)"; .venv/bin/python benchmarks/photo_map.py

Everything runs on a scratch database index of the stack's Redis (`--db`,
default 15), which must be empty at the start; it is FLUSHDB'd between the
variants and at the end, and nothing else is touched. `used_memory` counts the
whole server, so run it where nothing else writes to that Redis.

Data: `--users` users on LOGICAL_SHARDS logical shards, signed up since the
ID epoch; `--photos` photos over 30 days with a day/night rate, owners drawn with
a heavy tail (a few users post a lot), plus bursts of 1,500-3,000 photos in a
few milliseconds on one shard (IDs borrow the next ms past 1024, like next_id()).
Variants, each measured as used_memory after minus before on an empty db:
  - ours_streamed: set_owners in time order, 1,000 pairs per call (uploads as they come)
  - ours_rebuilt: the layout `rebuild_photo_map` writes (replace_shard per shard)
  - baseline_plain_keys: `SET photo:<id> <owner_id>`
  - baseline_hash_buckets: HSET `pmh:<id >> 43>` (id → owner as 64-bit integers,
    ~17.5 min of all shards per bucket), hash-max-listpack-entries raised to 1024
    for that run only, then restored
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DAY_MS = 86_400_000


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def scratch_url(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def make_ids(args: argparse.Namespace, shards: int) -> list[tuple[int, int]]:
    """(photo_id, owner_id) pairs in creation order."""
    from backend.shards.ids import encode_id

    rng = random.Random(args.seed)
    start_ms = 520 * DAY_MS  # 2025-06-05, well inside the ID range
    users = [
        encode_id(
            ms=rng.randrange(0, start_ms),
            shard=rng.randrange(shards),
            sequence=rng.randrange(8),
        )
        for _ in range(args.users)
    ]
    weights = [1 / (i + 1) ** 0.8 for i in range(len(users))]  # heavy-tailed activity
    bursts = args.photos // 100  # 1 % of photos come in bursts
    steady = args.photos - bursts
    events: list[tuple[int, int]] = []  # (ms, owner)
    owners = rng.choices(users, weights=weights, k=steady)
    for owner in owners:
        while True:  # day/night: rate ∝ 1 + 0.8 sin(2π t / day)
            ms = rng.randrange(start_ms, start_ms + 30 * DAY_MS)
            if rng.random() * 1.8 < 1 + 0.8 * math.sin(2 * math.pi * ms / DAY_MS):
                break
        events.append((ms, owner))
    left = bursts
    while left > 0:
        size = min(left, rng.randrange(1_500, 3_001))
        ms = rng.randrange(start_ms, start_ms + 30 * DAY_MS)
        shard = rng.randrange(shards)
        on_shard = [u for u in users if (u >> 10) & 8191 == shard] or [users[0]]
        events.extend((ms, rng.choice(on_shard)) for _ in range(size))
        left -= size
    events.sort()
    # Sequences per (shard, ms); past 1024 an ID borrows the next ms, as next_id() does.
    last: dict[int, tuple[int, int]] = {}
    pairs = []
    for ms, owner in events:
        shard = (owner >> 10) & 8191
        prev_ms, prev_seq = last.get(shard, (-1, -1))
        if ms < prev_ms or (ms == prev_ms and prev_seq == 1023):
            ms = prev_ms + (1 if prev_seq == 1023 else 0)
        seq = prev_seq + 1 if ms == prev_ms else 0
        last[shard] = (ms, seq)
        pairs.append((encode_id(ms=ms, shard=shard, sequence=seq), owner))
    return pairs


def used_memory(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


def measure(client: Any, n: int, load: Any) -> dict[str, Any]:
    client.flushdb()
    before = used_memory(client)
    started = time.perf_counter()
    load()
    elapsed = time.perf_counter() - started
    after = used_memory(client)
    return {
        "bytes_per_mapping": round((after - before) / n, 2),
        "used_memory_delta": after - before,
        "keys": client.dbsize(),
        "load_seconds": round(elapsed, 2),
        "mappings_per_second": round(n / elapsed),
    }


def layout(client: Any) -> dict[str, Any]:
    """Encodings of the shard hashes and records per bucket."""
    from backend.photos import photo_map

    encodings: Counter[str] = Counter()
    sizes: list[int] = []
    markers = 0
    for key in client.scan_iter(match=f"{photo_map.PREFIX}*", count=1000):
        encodings[client.object("encoding", key).decode()] += 1
        for value in client.hvals(key):
            if value:
                sizes.append(len(value) // photo_map.RECORD_BYTES)
            else:
                markers += 1
    return {
        "shard_hash_encodings": dict(encodings),
        "buckets": len(sizes),
        "split_markers": markers,
        "entries_per_bucket": {
            "min": min(sizes),
            "median": statistics.median(sizes),
            "max": max(sizes),
            "limit": photo_map.BUCKET_RECORDS,
        },
        "all_buckets_within_limit": max(sizes) <= photo_map.BUCKET_RECORDS,
    }


def lookups(pairs: list[tuple[int, int]], rng: random.Random, batches: int, get: Any) -> float:
    ids = [rng.choice(pairs)[0] for _ in range(batches * 100)]
    started = time.perf_counter()
    for i in range(batches):
        get(ids[i * 100 : (i + 1) * 100])
    return round(batches * 100 / (time.perf_counter() - started))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--db", type=int, default=15, help="scratch Redis database index")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lookup-batches", type=int, default=2_000)
    args, _ = parser.parse_known_args()  # make bench passes every benchmark the same args

    # The module reads settings.REDIS_URL: point it at the scratch db before Django loads.
    os.environ["REDIS_URL"] = scratch_url(os.environ["REDIS_URL"], args.db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")
    import django

    django.setup()
    import redis
    from common import OnOneLoop
    from django.conf import settings

    from backend.photos import photo_map
    from backend.shards.ids import shard_of

    call = OnOneLoop()
    # The benchmark's own sync client, for its measurements and the baseline.
    client: Any = redis.Redis.from_url(settings.REDIS_URL)
    if client.dbsize():
        sys.exit(f"scratch db {args.db} is not empty: pick another with --db")
    server = client.info("server")["redis_version"]
    shards = int(settings.LOGICAL_SHARDS)
    log(f"photo_map benchmark: {args.photos} photos, {args.users} users, {shards} shards")
    log("  generating IDs")
    pairs = make_ids(args, shards)
    n = len(pairs)
    owner_of = dict(pairs)
    rng = random.Random(args.seed + 1)
    result: dict[str, Any] = {"benchmark": "photo_map", "redis": server, "mappings": n}
    try:
        log("  ours, streamed in time order")

        def streamed() -> None:
            for start in range(0, n, 1000):
                call(photo_map.aset_owners(pairs[start : start + 1000]))

        ours = measure(client, n, streamed)
        ours.update(layout(client))
        sample = rng.sample(pairs, 10_000)

        def get_owners(ids: list[int]) -> dict[int, int]:
            return dict(call(photo_map.aget_owners(ids)))

        got = get_owners([p for p, _ in sample])
        absent = [p + 1 for p, _ in sample[:1000] if p + 1 not in owner_of]
        ours["sample_correct"] = got == dict(sample) and not get_owners(absent)
        log("  ours, lookups")
        ours["lookups_per_second_batch_100"] = lookups(pairs, rng, args.lookup_batches, get_owners)
        result["ours_streamed"] = ours

        log("  ours, rebuilt layout")
        by_shard: dict[int, list[tuple[int, int]]] = {}
        for p, o in pairs:
            by_shard.setdefault(shard_of(p), []).append((p, o))

        def rebuilt() -> None:
            for shard, shard_pairs in by_shard.items():
                call(photo_map.areplace_shard(shard, shard_pairs))

        packed = measure(client, n, rebuilt)
        packed.update(layout(client))
        packed["sample_correct"] = get_owners([p for p, _ in sample]) == dict(sample)
        result["ours_rebuilt"] = packed

        log("  baseline, plain keys")

        def plain() -> None:
            for start in range(0, n, 10_000):
                pipe = client.pipeline(transaction=False)
                for p, o in pairs[start : start + 10_000]:
                    pipe.set(f"photo:{p}", o)
                pipe.execute()

        base = measure(client, n, plain)
        base["lookups_per_second_batch_100"] = lookups(
            pairs, rng, args.lookup_batches, lambda ids: client.mget([f"photo:{p}" for p in ids])
        )
        result["baseline_plain_keys"] = base

        log("  baseline, hash buckets with 64-bit fields and values")
        old = client.config_get("hash-max-listpack-entries")["hash-max-listpack-entries"]
        client.config_set("hash-max-listpack-entries", 1024)
        try:

            def buckets() -> None:
                for start in range(0, n, 10_000):
                    pipe = client.pipeline(transaction=False)
                    for p, o in pairs[start : start + 10_000]:
                        pipe.hset(f"pmh:{p >> 43}", p, o)
                    pipe.execute()

            hashed = measure(client, n, buckets)
            enc = Counter(
                client.object("encoding", k).decode() for k in client.scan_iter(count=1000)
            )
            hashed["encodings"] = dict(enc)
            result["baseline_hash_buckets"] = hashed
        finally:
            client.config_set("hash-max-listpack-entries", old)
    finally:
        client.flushdb()  # the scratch db only
        call.close()

    target = 16.0
    result["target_bytes_per_mapping"] = target
    result["meets_target"] = ours["bytes_per_mapping"] <= target
    result["ratio_baseline_vs_ours"] = round(
        result["baseline_plain_keys"]["bytes_per_mapping"] / ours["bytes_per_mapping"], 2
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
