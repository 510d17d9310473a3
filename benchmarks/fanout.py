"""Fan-out benchmark: one post from an account with 1,000,000 followers.

Followers are generated straight into the owner's shard with COPY (not
through the API) and each gets an existing feed in Redis (an active user).
The photo row is inserted directly and its fan-out job queued, as the feeds'
consumer of PHOTO_POSTED does for an account this size; the stack's real
Dramatiq worker then pages the followers and runs the delivery chunks. The clock stops when
every follower's feed holds the photo (a sample is polled while it runs; all
1M are checked at the end).

Baseline, same run, same Redis: the straightforward delivery without the
Lua script, a redis-py pipeline of EXISTS+ZADD per follower, on a slice of
the followers.

    eval "$(scripts/stack.sh --profile bench env)"; .venv/bin/python benchmarks/fanout.py
"""

from __future__ import annotations

import argparse
import random
import secrets
import time
from typing import Any

import psycopg
import redis
from common import OnOneLoop, emit, log, setup_django

setup_django()

from django.conf import settings  # noqa: E402

from backend.feeds import feedstore  # noqa: E402
from backend.feeds.tasks import fan_out_photo  # noqa: E402
from backend.queue import enqueue  # noqa: E402
from backend.shards import db, routing, topology  # noqa: E402
from backend.shards.ids import encode_id, schema_name, shard_of  # noqa: E402

TARGET = 100_000
call = OnOneLoop()


def sync_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def make_owner() -> int:
    rows = call(
        routing.aquery(
            random.randrange(call(topology.aget_map()).logical_count),
            'INSERT INTO {schema}."social_profile" (full_name, bio, is_private) '
            "VALUES ('bench star', '', false) RETURNING user_id",
        )
    )
    return int(rows[0]["user_id"])


def make_followers(owner_id: int, n: int) -> list[int]:
    """n follower IDs (spread over shards) and their Follower edges, by COPY."""
    logical_count = call(topology.aget_map()).logical_count
    base_ms = 10_000_000
    followers = [
        encode_id(ms=base_ms + i // 1000, shard=i % logical_count, sequence=i % 1000)
        for i in range(n)
    ]
    logical = shard_of(owner_id)
    server = call(topology.aget_map()).server_of(logical)
    with psycopg.connect(db.conninfo(server)) as conn, conn.transaction():
        with conn.cursor().copy(
            f'COPY {schema_name(logical)}."social_follower" (user_id, follower_id, status) '
            "FROM STDIN"
        ) as copy:
            for f in followers:
                copy.write_row((owner_id, f, "active"))
        conn.execute(
            f'UPDATE {schema_name(logical)}."social_profile" SET follower_count = %s '
            "WHERE user_id = %s",
            [n, owner_id],
        )
    return followers


def make_feeds(followers: list[int]) -> None:
    client = sync_client()
    for start in range(0, len(followers), 10_000):
        pipe = client.pipeline(transaction=False)
        for f in followers[start : start + 10_000]:
            pipe.zadd(feedstore.feed_key(f), {feedstore.COMPLETE: 0})
        pipe.execute()


def insert_photo(owner_id: int) -> int:
    rows = call(
        routing.aquery(
            shard_of(owner_id),
            'INSERT INTO {schema}."photos_photo" (owner_id, caption, width, height, key) '
            "VALUES (%s, 'bench', 1080, 1080, %s) RETURNING id",
            [owner_id, secrets.token_urlsafe(16)],
        )
    )
    return int(rows[0]["id"])


def has_photo(followers: list[int], member: bytes) -> list[bool]:
    client = sync_client()
    out: list[bool] = []
    for start in range(0, len(followers), 20_000):
        pipe = client.pipeline(transaction=False)
        for f in followers[start : start + 20_000]:
            pipe.zscore(feedstore.feed_key(f), member)
        out += [score is not None for score in pipe.execute()]
    return out


def baseline(followers: list[int], photo_id: int) -> float:
    """Deliveries per second of a plain pipelined EXISTS+ZADD per follower."""
    client = sync_client()
    member = feedstore.pack(photo_id)
    started = time.perf_counter()
    for start in range(0, len(followers), 2_000):
        chunk = followers[start : start + 2_000]
        pipe = client.pipeline(transaction=False)
        for f in chunk:
            pipe.exists(feedstore.feed_key(f))
        exists = pipe.execute()
        pipe = client.pipeline(transaction=False)
        for f, ok in zip(chunk, exists, strict=True):
            if ok:
                pipe.zadd(feedstore.feed_key(f), {member: 0})
        pipe.execute()
    return len(followers) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=int, default=1_000_000)
    parser.add_argument("--baseline-followers", type=int, default=200_000)
    args = parser.parse_args()

    log(f"fanout: generating {args.followers:,} followers and their feeds")
    owner_id = make_owner()
    started = time.perf_counter()
    followers = make_followers(owner_id, args.followers)
    make_feeds(followers)
    log(f"fanout: generated in {time.perf_counter() - started:.1f} s")

    photo_id = insert_photo(owner_id)
    member = feedstore.pack(photo_id)
    sample = [*random.sample(followers, min(200, len(followers))), followers[-1]]
    log("fanout: publishing (the stack's Dramatiq worker delivers)")
    started = time.perf_counter()
    # The fan-out job PHOTO_POSTED's feed consumer queues for an account this size.
    call(enqueue(fan_out_photo.message(photo_id, owner_id)))
    while not all(has_photo(sample, member)):
        time.sleep(0.05)
        if time.perf_counter() - started > 600:
            raise SystemExit("fan-out did not finish in 10 minutes")
    elapsed = time.perf_counter() - started
    log(f"fanout: sample complete after {elapsed:.2f} s; checking all followers")
    delivered = sum(has_photo(followers, member))

    base_photo = insert_photo(owner_id)
    base_rate = baseline(followers[: args.baseline_followers], base_photo)
    rate = args.followers / elapsed
    result: dict[str, Any] = {
        "benchmark": "fanout",
        "followers": args.followers,
        "seconds_until_last_follower": round(elapsed, 3),
        "deliveries_per_second": round(rate),
        "delivered": delivered,
        "all_delivered": delivered == args.followers,
        "target_deliveries_per_second": TARGET,
        "meets_target": rate >= TARGET and delivered == args.followers,
        "baseline_pipelined_zadd_per_second": round(base_rate),
        "baseline_followers": args.baseline_followers,
        "ratio_to_baseline": round(rate / base_rate, 2),
    }
    emit(result)
    call.close()


if __name__ == "__main__":
    main()
