"""The cost of synchronous replication: likePhoto/unlikePhoto latency and CPU
per request with the standbys synchronous and asynchronous, same run.

Setup (in-process, not timed): USERS accounts and PHOTOS photos spread over
the shards. Each round toggles every primary's synchronous_standby_names
(ALTER SYSTEM, reload: '' makes the standby asynchronous), then sends
REQUESTS like/unlike mutations from CONCURRENCY keep-alive connections to
the first app instance. Rounds alternate (sync, async, sync, async) so drift
hits both. CPU: the app instance's processes and every PostgreSQL process
(primaries and standbys), from /proc. The primaries are left synchronous.

    eval "$(scripts/stack.sh --profile bench env)"; .venv/bin/python benchmarks/sync_replication.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from common import app_url, emit, log, make_users, setup_django

setup_django()

from backend import runtime  # noqa: E402
from backend.shards import routing  # noqa: E402
from backend.shards.ids import shard_of  # noqa: E402

LIKE = "mutation($id: ID!) { likePhoto(id: $id) { id likeCount } }"
UNLIKE = "mutation($id: ID!) { unlikePhoto(id: $id) { id likeCount } }"


def primary_ports() -> list[int]:
    return [int(os.environ["PG_DIRECTORY_PORT"]), *map(int, os.environ["PG_SHARD_PORTS"].split())]


def set_sync(on: bool) -> None:
    for port in primary_ports():
        with psycopg.connect(
            host="127.0.0.1", port=port, user="photoshare", dbname="postgres", autocommit=True
        ) as conn:
            if on:
                conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
            else:
                conn.execute("ALTER SYSTEM SET synchronous_standby_names = ''")
            conn.execute("SELECT pg_reload_conf()")
            want = "sync" if on else "async"
            deadline = time.monotonic() + 10
            while conn.execute("SELECT sync_state FROM pg_stat_replication").fetchone() != (want,):
                if time.monotonic() > deadline:
                    raise SystemExit(f"port {port}: replication did not become {want}")
                time.sleep(0.05)


def cpu_of(pids: set[int]) -> float:
    total = 0
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def tree(roots: set[int]) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(raw[raw.rindex(")") + 2 :].split()[1])
    out, grew = set(roots), True
    while grew:
        children = {p for p, pp in parents.items() if pp in out} - out
        out |= children
        grew = bool(children)
    return out


def processes() -> tuple[set[int], set[int]]:
    run = Path(os.environ["STACK_DIR"], "run")
    app = tree({int((run / "app1.child.pid").read_text().split()[0])})
    pg = tree({int(f.read_text().split()[0]) for f in run.glob("pg-*.pid")})
    return app, pg


async def one_round(
    pairs: list[tuple[str, int]], requests: int, concurrency: int
) -> dict[str, Any]:
    latencies: list[float] = []
    queue: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue()
    for n in range(requests):
        token, photo = pairs[(n // 2) % len(pairs)]
        queue.put_nowait((LIKE if n % 2 == 0 else UNLIKE, token, photo))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            query, token, photo = queue.get_nowait()
            started = time.perf_counter()
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": {"id": str(photo)}},
                headers={"Authorization": f"Bearer {token}"},
            )
            latencies.append(time.perf_counter() - started)
            body = response.json()
            if body.get("errors"):
                raise RuntimeError(body["errors"])

    app, pg = processes()
    app_before, pg_before = cpu_of(app), cpu_of(pg)
    async with httpx.AsyncClient(base_url=app_url(), limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(loop(client) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    app_cpu, pg_cpu = cpu_of(app) - app_before, cpu_of(pg) - pg_before
    latencies.sort()
    return {
        "requests_per_s": round(requests / wall, 1),
        "latency_ms": {
            "p50": round(statistics.median(latencies) * 1000, 2),
            "p95": round(latencies[int(len(latencies) * 0.95)] * 1000, 2),
        },
        "app_cpu_ms_per_request": round(app_cpu * 1000 / requests, 3),
        "postgres_cpu_ms_per_request": round(pg_cpu * 1000 / requests, 3),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    users = await make_users(args.users, "syncrep")
    photos = []
    for owner_id, _ in await make_users(args.users, "syncrepo"):
        rows = await routing.aquery(
            shard_of(owner_id),
            'INSERT INTO {schema}."photos_photo" (owner_id, width, height, key) '
            "VALUES (%s, 1080, 1080, %s) RETURNING id",
            [owner_id, secrets.token_urlsafe(16)],
        )
        photos.append(int(rows[0]["id"]))
    pairs = [(token, photo) for (_, token), photo in zip(users, photos, strict=True)]
    rounds: dict[str, list[dict[str, Any]]] = {"sync": [], "async": []}
    try:
        await one_round(pairs, 200, args.concurrency)  # warm-up
        for mode in ("sync", "async", "sync", "async"):
            set_sync(mode == "sync")
            result = await one_round(pairs, args.requests, args.concurrency)
            log(f"sync_replication: {mode}: {result}")
            rounds[mode].append(result)
    finally:
        set_sync(True)

    def mean(mode: str, *path: str) -> float:
        values = []
        for r in rounds[mode]:
            value: Any = r
            for key in path:
                value = value[key]
            values.append(float(value))
        return round(statistics.mean(values), 3)

    summary = {
        mode: {
            "requests_per_s": mean(mode, "requests_per_s"),
            "latency_p50_ms": mean(mode, "latency_ms", "p50"),
            "latency_p95_ms": mean(mode, "latency_ms", "p95"),
            "app_cpu_ms_per_request": mean(mode, "app_cpu_ms_per_request"),
            "postgres_cpu_ms_per_request": mean(mode, "postgres_cpu_ms_per_request"),
        }
        for mode in rounds
    }
    emit(
        {
            "benchmark": "sync_replication",
            "concurrency": args.concurrency,
            "requests_per_round": args.requests,
            "summary": summary,
            "rounds": rounds,
        }
    )


if __name__ == "__main__":
    runtime.run(main())
