"""ID generation benchmark: our next_id()/next_ids() vs the original mod-1024 scheme.

Prints one JSON object to stdout (progress goes to stderr). Run through
`make bench`, or against a running stack:
    eval "$(scripts/stack.sh --profile test env)"; .venv/bin/python benchmarks/ids.py

All measurements use the first server of SHARD_DATABASE_URLS and its first
logical shard schema; only the shard's ID functions are called there. The
original scheme runs in a scratch schema `bench_ids`, dropped at start and end.

Rates: `ids_per_second` is the generation rate, timed on
`SELECT count(*) FROM (<generator>) q` (a volatile select-list item is never
dropped from a subquery, so every ID is really made). The check statement
(count(DISTINCT id) and the order check) is timed separately. Every rate is
the best of `--runs` (variants run round-robin, so a noisy spell hits all).

Order: `strictly_increasing` compares each ID with the previous one in
generation order, `ORDER BY ord`. For the single variant ord comes from
`generate_series(...) WITH ORDINALITY` and next_id() is in the select list of
that scan, so it is evaluated once per row in ord order; the script checks
this with a probe sequence evaluated next to next_id() (`generation_order_probe`).
For next_ids(n) WITH ORDINALITY, ord is the position in the function's result,
which is the order RETURN NEXT / RETURN QUERY produced the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import psycopg

from backend.settings.env import shard_servers
from backend.shards.ids import EPOCH_MS, SEQUENCE_BITS, SHARD_BITS

TARGET = 512_000
SCRATCH = "bench_ids"
CLOCK_MS = f"(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - {EPOCH_MS})"

Conn = psycopg.Connection[Any]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def one(conn: Conn, sql: str) -> tuple[Any, ...]:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return tuple(row)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


class Variant:
    """One generator `SELECT id, ord FROM ...` of n IDs, measured run by run."""

    def __init__(self, name: str, sql: str, n: int) -> None:
        self.name, self.sql, self.n = name, sql, n
        self.rates: list[float] = []
        self.check_rates: list[float] = []
        self.duplicates: list[int] = []
        self.increasing: list[bool] = []
        self.ahead_ms: list[int] = []

    def run(self, conn: Conn) -> None:
        elapsed, (count,) = timed(lambda: one(conn, f"SELECT count(*) FROM ({self.sql}) q"))
        assert count == self.n, (self.name, count)
        self.rates.append(self.n / elapsed)
        # The outer select list is evaluated after the aggregate has read every
        # row, so its clock_timestamp() is the time the last ID was made (or later).
        elapsed, (count, distinct, increasing, ahead) = timed(
            lambda: one(
                conn,
                f"""SELECT count(*), count(DISTINCT id), coalesce(bool_and(d > 0), true),
                           (max(id) >> {SHARD_BITS + SEQUENCE_BITS}) - {CLOCK_MS}
                    FROM (SELECT id, id - lag(id) OVER (ORDER BY ord) AS d
                          FROM ({self.sql}) q) z""",
            )
        )
        assert count == self.n, (self.name, count)
        self.check_rates.append(self.n / elapsed)
        self.duplicates.append(count - distinct)
        self.increasing.append(bool(increasing))
        self.ahead_ms.append(int(ahead))

    def report(self) -> dict[str, Any]:
        return {
            "ids_per_second": round(max(self.rates)),
            "runs_ids_per_second": [round(r) for r in self.rates],
            "with_checks_ids_per_second": round(max(self.check_rates)),
            "runs_with_checks_ids_per_second": [round(r) for r in self.check_rates],
            "duplicates": max(self.duplicates),
            "runs_duplicates": self.duplicates,
            "strictly_increasing": all(self.increasing),
            # Newest ID's time field minus the clock after the statement (max of runs;
            # negative: behind). Borrowing milliseconds makes it positive.
            "newest_id_ms_ahead_of_clock": max(self.ahead_ms),
        }


def probe_generation_order(conn: Conn, schema: str, n: int) -> bool:
    """next_id() next to a probe nextval() in a WITH ORDINALITY scan: both in ord order."""
    conn.execute(f"CREATE SEQUENCE {SCRATCH}.probe")
    increasing, probe_in_order = one(
        conn,
        f"""SELECT coalesce(bool_and(id > prev_id), true), bool_and(p - ord = first_p - 1)
            FROM (SELECT id, p, ord, lag(id) OVER w AS prev_id, first_value(p) OVER w AS first_p
                  FROM (SELECT {schema}.next_id() AS id, nextval('{SCRATCH}.probe') AS p, ord
                        FROM generate_series(1, {n}) WITH ORDINALITY AS g(x, ord)) q
                  WINDOW w AS (ORDER BY ord)) z""",
    )
    return bool(increasing) and bool(probe_in_order)


def concurrent(
    url: str, schema: str, *, threads: int, batch: int, singles: int, runs: int
) -> dict[str, Any]:
    """Each thread: next_ids(batch) and next_id() x singles, one statement each."""
    batch_sql = f"SELECT id FROM {schema}.next_ids({batch}) AS t(id)"
    single_sql = f"SELECT {schema}.next_id() FROM generate_series(1, {singles})"
    rates: list[float] = []
    duplicates: list[int] = []
    increasing = True
    total = 0
    for r in range(runs):
        log(f"  concurrent run {r + 1}/{runs}")
        results: list[list[list[int]]] = [[] for _ in range(threads)]
        spans: list[tuple[float, float]] = [(0.0, 0.0)] * threads
        errors: list[BaseException] = []
        barrier = threading.Barrier(threads)

        def work(i: int, results=results, spans=spans, errors=errors, barrier=barrier) -> None:
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    cur = conn.cursor(binary=True)
                    # Half the threads start with the batch, half with singles,
                    # so batches (shared lock) overlap single calls.
                    order = [batch_sql, single_sql] if i % 2 == 0 else [single_sql, batch_sql]
                    barrier.wait()
                    started = time.perf_counter()
                    for sql in order:
                        ids = [row[0] for row in cur.execute(sql).fetchall()]
                        results[i].append(ids)
                    spans[i] = (started, time.perf_counter())
            except BaseException as exc:
                errors.append(exc)
                barrier.abort()

        pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        if errors:
            raise errors[0]
        statements = [ids for per in results for ids in per]
        increasing = increasing and all(all(a < b for a, b in pairwise(ids)) for ids in statements)
        every = [v for ids in statements for v in ids]
        total = len(every)
        assert total == threads * (batch + singles), total
        duplicates.append(total - len(set(every)))
        elapsed = max(e for _, e in spans) - min(s for s, _ in spans)
        rates.append(total / elapsed)
    return {
        "threads": threads,
        "per_thread": {"next_ids": batch, "next_id": singles},
        "ids": total,
        "duplicates": max(duplicates),
        "runs_duplicates": duplicates,
        "strictly_increasing_per_statement": increasing,
        "ids_per_second": round(max(rates)),
        "runs_ids_per_second": [round(r) for r in rates],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="IDs per statement")
    parser.add_argument("--runs", type=int, default=3, help="runs per rate (best is kept)")
    args = parser.parse_args()
    n, runs = args.n, args.runs
    if n < 20 or runs < 1:
        parser.error("--n must be >= 20 and --runs >= 1")

    name, url = next(iter(shard_servers(os.environ["SHARD_DATABASE_URLS"]).items()))
    with psycopg.connect(url, autocommit=True) as conn:
        (schema,) = one(
            conn,
            r"SELECT nspname FROM pg_namespace WHERE nspname ~ '^shard_[0-9]{4}$'"
            " ORDER BY 1 LIMIT 1",
        )
        shard = int(schema.removeprefix("shard_"))
        version, version_num = one(
            conn, "SELECT current_setting('server_version'), current_setting('server_version_num')"
        )
        log(f"ids benchmark on {name}/{schema} (PostgreSQL {version}), n={n}, runs={runs}")

        conn.execute(f"DROP SCHEMA IF EXISTS {SCRATCH} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCRATCH}")
        try:
            conn.execute(f"CREATE SEQUENCE {SCRATCH}.seq")
            original = (
                f"(({CLOCK_MS} << {SHARD_BITS + SEQUENCE_BITS}) | ({shard} << {SEQUENCE_BITS})"
                f" | (nextval('{SCRATCH}.seq') % 1024))"
            )
            conn.execute(
                f"CREATE FUNCTION {SCRATCH}.next_id() RETURNS bigint"
                f" LANGUAGE plpgsql VOLATILE AS $$ BEGIN RETURN {original}; END $$"
            )
            order_ok = probe_generation_order(conn, schema, min(n, 100_000))
            series = f"generate_series(1, {n}) WITH ORDINALITY AS g(x, ord)"
            variants = [
                Variant("single", f"SELECT {schema}.next_id() AS id, ord FROM {series}", n),
                Variant(
                    "batched",
                    f"SELECT id, ord FROM {schema}.next_ids({n}) WITH ORDINALITY AS t(id, ord)",
                    n,
                ),
                Variant(
                    "baseline_mod1024_inline_sql", f"SELECT {original} AS id, ord FROM {series}", n
                ),
                Variant(
                    "baseline_mod1024_plpgsql",
                    f"SELECT {SCRATCH}.next_id() AS id, ord FROM {series}",
                    n,
                ),
            ]
            for r in range(runs):
                for v in variants:
                    log(f"  run {r + 1}/{runs}: {v.name}")
                    v.run(conn)
        finally:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCRATCH} CASCADE")

    log("  concurrent: 4 connections")
    conc = concurrent(url, schema, threads=4, batch=n // 4, singles=n // 20, runs=runs)

    reports = {v.name: v.report() for v in variants}
    single, batched = reports["single"], reports["batched"]
    base_inline = reports["baseline_mod1024_inline_sql"]

    def meets(r: dict[str, Any]) -> bool:
        return r["ids_per_second"] >= TARGET and r["duplicates"] == 0

    print(
        json.dumps(
            {
                "benchmark": "ids",
                "postgres": version,
                "postgres_version_num": int(version_num),
                "server": name,
                "schema": schema,
                "n": n,
                "runs": runs,
                "generation_order_probe": order_ok,
                **{k: reports[k] for k in ("single", "batched")},
                "concurrent": conc,
                **{k: reports[k] for k in reports if k.startswith("baseline_")},
                "target_ids_per_second": TARGET,
                "meets_target": {"single": meets(single), "batched": meets(batched)},
                "ratio_single_vs_baseline_inline": round(
                    single["ids_per_second"] / base_inline["ids_per_second"], 3
                ),
                "ratio_batched_vs_baseline_inline": round(
                    batched["ids_per_second"] / base_inline["ids_per_second"], 3
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
