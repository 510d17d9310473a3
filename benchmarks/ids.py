"""ID generation benchmark: our next_id()/next_ids() vs the original mod-1024 scheme.

Prints one JSON object. Run through `make bench`, or against a running stack:
    eval "$(scripts/stack.sh --profile test env)"; .venv/bin/python benchmarks/ids.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Any

import psycopg

from backend.settings.env import shard_servers
from backend.shards.ids import EPOCH_MS

TARGET = 512_000


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def measure(conn: psycopg.Connection[Any], sql: str, n: int, runs: int) -> dict[str, Any]:
    """Rate (best of `runs`) of generating, and uniqueness/order of one more run."""
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.execute(f"SELECT count(*) FROM ({sql}) q").fetchone()
        rates.append(n / (time.perf_counter() - started))
    row = conn.execute(
        f"""SELECT count(*), count(DISTINCT id), bool_and(d > 0)
            FROM (SELECT id, id - lag(id) OVER (ORDER BY ord) AS d FROM ({sql}) q) z"""
    ).fetchone()
    assert row is not None
    return {
        "ids_per_second": round(max(rates)),
        "runs_ids_per_second": [round(r) for r in rates],
        "duplicates": int(row[0]) - int(row[1]),
        "strictly_increasing": bool(row[2]),
    }


def concurrent(url: str, schema: str, per_conn: int, conns: int) -> dict[str, Any]:
    results: list[list[int]] = []
    barrier = threading.Barrier(conns)

    def work(i: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            barrier.wait()
            sql = (
                f"SELECT * FROM {schema}.next_ids({per_conn})"
                if i % 2 == 0
                else f"SELECT {schema}.next_id() FROM generate_series(1, {per_conn})"
            )
            results.append([int(r[0]) for r in conn.execute(sql).fetchall()])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(conns)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    every = [v for ids in results for v in ids]
    return {
        "connections": conns,
        "ids": len(every),
        "duplicates": len(every) - len(set(every)),
        "ids_per_second": round(len(every) / elapsed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    n = args.n
    name, url = next(iter(shard_servers(os.environ["SHARD_DATABASE_URLS"]).items()))
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            r"SELECT nspname FROM pg_namespace WHERE nspname ~ '^shard_[0-9]{4}$'"
            " ORDER BY 1 LIMIT 1"
        ).fetchone()
        assert row is not None, "no shard schema: run migrate_shards"
        schema = str(row[0])
        shard = int(schema[6:])
        version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        conn.execute("DROP SCHEMA IF EXISTS bench_ids CASCADE")
        conn.execute("CREATE SCHEMA bench_ids")
        conn.execute("CREATE SEQUENCE bench_ids.seq")
        clock = f"(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - {EPOCH_MS})"
        original = f"(({clock} << 23) | ({shard} << 10) | (nextval('bench_ids.seq') % 1024))"
        conn.execute(
            f"CREATE FUNCTION bench_ids.next_id() RETURNS bigint LANGUAGE plpgsql AS "
            f"$$ BEGIN RETURN {original}; END $$"
        )
        series = f"generate_series(1, {n}) WITH ORDINALITY AS g(x, ord)"
        try:
            log(f"single next_id() on {name}.{schema}")
            single = measure(
                conn, f"SELECT {schema}.next_id() AS id, ord FROM {series}", n, args.runs
            )
            log("batched next_ids()")
            batched = measure(
                conn,
                f"SELECT id, ord FROM {schema}.next_ids({n}) WITH ORDINALITY AS t(id, ord)",
                n,
                args.runs,
            )
            log("baseline: original scheme, inlined SQL")
            base_sql = measure(conn, f"SELECT {original} AS id, ord FROM {series}", n, args.runs)
            log("baseline: original scheme, PL/pgSQL")
            base_plpgsql = measure(
                conn, f"SELECT bench_ids.next_id() AS id, ord FROM {series}", n, args.runs
            )
        finally:
            conn.execute("DROP SCHEMA IF EXISTS bench_ids CASCADE")
    log("4 concurrent connections")
    conc = concurrent(url, schema, n // 4, 4)

    def meets(r: dict[str, Any]) -> bool:
        return r["ids_per_second"] >= TARGET and r["duplicates"] == 0

    print(
        json.dumps(
            {
                "benchmark": "ids",
                "postgres": version,
                "n": n,
                "server": name,
                "schema": schema,
                "single_next_id": single,
                "batched_next_ids": batched,
                "concurrent": conc,
                "baseline_mod1024_inline_sql": base_sql,
                "baseline_mod1024_plpgsql": base_plpgsql,
                "target_ids_per_second": TARGET,
                "meets_target": {
                    "single": meets(single),
                    "batched": meets(batched),
                    "concurrent_zero_duplicates": conc["duplicates"] == 0,
                },
                "ratio_single_vs_baseline_inline": round(
                    single["ids_per_second"] / base_sql["ids_per_second"], 3
                ),
                "ratio_batched_vs_baseline_inline": round(
                    batched["ids_per_second"] / base_sql["ids_per_second"], 3
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
