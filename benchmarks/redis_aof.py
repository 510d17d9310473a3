"""The cost of Redis's AOF: appendfsync always (the stack's) against everysec
and no AOF at all, same run, same Redis.

Each round sets the primary's persistence (CONFIG SET; turning the AOF back
on waits for its rewrite), then measures:

- `enqueue`: Dramatiq's `broker.enqueue` of ENQUEUES messages to a queue no
  worker reads, one after another (latency) and from 8 threads (throughput);
- `likes`: likePhoto/unlikePhoto pairs through the first app instance from
  CONCURRENCY keep-alive connections (each request takes a rate-limit token
  in Redis; each like's events are relayed to the queue);
- Redis's CPU per operation (its process, from /proc) and fsyncs per round.

Rounds alternate (always, everysec, off, ...) so drift hits each mode. The
primary is left with the AOF on and appendfsync always.

    eval "$(scripts/stack.sh --profile bench env)"; .venv/bin/python benchmarks/redis_aof.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dramatiq
import redis
from common import emit, log, make_users, setup_django
from sync_replication import cpu_of, one_round

setup_django()

from backend import runtime  # noqa: E402
from backend.queue import broker  # noqa: E402
from backend.shards import routing  # noqa: E402
from backend.shards.ids import shard_of  # noqa: E402

QUEUE = "bench_redis_aof"
MODES = ("always", "everysec", "off")


def primary() -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=int(os.environ["REDIS_PORT"]))


def redis_pid() -> int:
    return int(Path(os.environ["STACK_DIR"], "run", "redis.pid").read_text().split()[0])


def info(client: redis.Redis, section: str) -> dict[str, Any]:
    out: dict[str, Any] = client.info(section)  # type: ignore[assignment]
    return out


def persistence(client: redis.Redis) -> dict[str, Any]:
    return info(client, "persistence")


def set_mode(mode: str) -> None:
    client = primary()
    if mode == "off":
        client.config_set("appendonly", "no")
        return
    client.config_set("appendfsync", mode)
    if persistence(client)["aof_enabled"] != 1:
        client.config_set("appendonly", "yes")
    deadline = time.monotonic() + 60
    while (p := persistence(client))["aof_rewrite_in_progress"] or p["aof_rewrite_scheduled"]:
        if time.monotonic() > deadline:
            raise SystemExit("the AOF rewrite did not finish in 60 s")
        time.sleep(0.05)


def message(n: int) -> dramatiq.Message[Any]:
    return dramatiq.Message(queue_name=QUEUE, actor_name="bench", args=(n,), kwargs={}, options={})


def enqueue_round(count: int) -> dict[str, Any]:
    latencies = []
    for n in range(count):
        started = time.perf_counter()
        broker.enqueue(message(n))
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: broker.enqueue(message(n)), range(count)))
    threaded = time.perf_counter() - started
    broker.do_purge(QUEUE)
    return {
        "latency_us": {
            "p50": round(statistics.median(latencies) * 1e6, 1),
            "p95": round(latencies[int(len(latencies) * 0.95)] * 1e6, 1),
        },
        "sequential_per_s": round(count / sum(latencies), 1),
        "threads8_per_s": round(count / threaded, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enqueues", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    users = await make_users(20, "aof")
    photos = []
    for owner_id, _ in await make_users(20, "aofo"):
        rows = await routing.aquery(
            shard_of(owner_id),
            'INSERT INTO {schema}."photos_photo" (owner_id, width, height, key) '
            "VALUES (%s, 1080, 1080, %s) RETURNING id",
            [owner_id, secrets.token_urlsafe(16)],
        )
        photos.append(int(rows[0]["id"]))
    pairs = [(token, photo) for (_, token), photo in zip(users, photos, strict=True)]
    client = primary()
    rounds: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    try:
        await one_round(pairs, 100, args.concurrency)  # warm-up
        for _ in range(args.rounds):
            for mode in MODES:
                await asyncio.to_thread(set_mode, mode)
                cpu_before = cpu_of({redis_pid()})
                commands_before = int(info(client, "stats")["total_commands_processed"])
                enqueue = await asyncio.to_thread(enqueue_round, args.enqueues)
                likes = await one_round(pairs, args.requests, args.concurrency)
                commands = int(info(client, "stats")["total_commands_processed"]) - commands_before
                cpu = cpu_of({redis_pid()}) - cpu_before
                result = {
                    "enqueue": enqueue,
                    "likes": {k: v for k, v in likes.items() if "postgres" not in k},
                    "redis_cpu_us_per_command": round(cpu * 1e6 / max(commands, 1), 2),
                }
                log(f"redis_aof: {mode}: {result}")
                rounds[mode].append(result)
    finally:
        await asyncio.to_thread(set_mode, "always")

    def mean(mode: str, *path: str) -> float:
        values = []
        for r in rounds[mode]:
            value: Any = r
            for key in path:
                value = value[key]
            values.append(float(value))
        return round(statistics.mean(values), 2)

    summary = {
        mode: {
            "enqueue_p50_us": mean(mode, "enqueue", "latency_us", "p50"),
            "enqueue_p95_us": mean(mode, "enqueue", "latency_us", "p95"),
            "enqueue_sequential_per_s": mean(mode, "enqueue", "sequential_per_s"),
            "enqueue_threads8_per_s": mean(mode, "enqueue", "threads8_per_s"),
            "likes_requests_per_s": mean(mode, "likes", "requests_per_s"),
            "likes_p50_ms": mean(mode, "likes", "latency_ms", "p50"),
            "likes_p95_ms": mean(mode, "likes", "latency_ms", "p95"),
            "app_cpu_ms_per_request": mean(mode, "likes", "app_cpu_ms_per_request"),
            "redis_cpu_us_per_command": mean(mode, "redis_cpu_us_per_command"),
        }
        for mode in MODES
    }
    emit(
        {
            "benchmark": "redis_aof",
            "enqueues_per_round": args.enqueues,
            "requests_per_round": args.requests,
            "concurrency": args.concurrency,
            "summary": summary,
            "rounds": rounds,
        }
    )


if __name__ == "__main__":
    runtime.run(main())
