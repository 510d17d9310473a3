"""The 64-bit ID layout, in Python and from PostgreSQL's next_id()."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from backend.shards import db
from backend.shards.ids import (
    EPOCH_MS,
    MAX_LOGICAL_SHARDS,
    decode_id,
    encode_id,
    min_id_at,
    schema_name,
    shard_of,
)
from tests.shardutil import fetch_ids, logical_on, schema, shard_conn


def test_layout_is_41_13_10_bits():
    value = encode_id(ms=1, shard=1, sequence=1)
    assert value == (1 << 23) | (1 << 10) | 1
    top = encode_id(ms=(1 << 40) - 1, shard=MAX_LOGICAL_SHARDS - 1, sequence=1023)
    assert top == (1 << 63) - 1  # all 63 low bits set: the largest signed bigint
    decoded = decode_id(top)
    assert (decoded.ms, decoded.shard, decoded.sequence) == ((1 << 40) - 1, 8191, 1023)


@pytest.mark.parametrize("ms,shard,seq", [(0, 0, 1), (123456789, 4095, 0), (2**40 - 1, 8191, 1023)])
def test_encode_decode_round_trip(ms, shard, seq):
    value = encode_id(ms=ms, shard=shard, sequence=seq)
    decoded = decode_id(value)
    assert (decoded.ms, decoded.shard, decoded.sequence) == (ms, shard, seq)
    assert shard_of(value) == shard


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ms": -1, "shard": 0, "sequence": 0},
        {"ms": 2**40, "shard": 0, "sequence": 0},  # would be a negative bigint
        {"ms": 0, "shard": 8192, "sequence": 0},
        {"ms": 0, "shard": 0, "sequence": 1024},
    ],
)
def test_encode_rejects_parts_that_do_not_fit(kwargs):
    with pytest.raises(ValueError):
        encode_id(**kwargs)


def test_decode_rejects_non_ids():
    for bad in (0, -5, 1 << 63):
        with pytest.raises(ValueError):
            decode_id(bad)


def test_ids_sort_by_time_and_min_id_at():
    earlier = encode_id(ms=1000, shard=8191, sequence=1023)
    later = encode_id(ms=1001, shard=0, sequence=0)
    assert earlier < later
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert decode_id(min_id_at(moment) | 1).created_at == moment
    assert schema_name(7) == "shard_0007"


def test_next_id_encodes_its_shard_and_the_current_time():
    logical = logical_on("shard1", index=3)
    with shard_conn(logical) as conn:
        before = int(time.time() * 1000) - EPOCH_MS
        value = fetch_ids(conn, f"SELECT {schema(logical)}.next_id()")[0]
        after = int(time.time() * 1000) - EPOCH_MS
    decoded = decode_id(value)
    assert decoded.shard == logical
    # After an idle period the sequence jumps to the clock (plus a small margin).
    assert before - 5 <= decoded.ms <= after + 50


def _check_one_statement(conn, sql: str, n: int) -> tuple[int, int, bool]:
    row = conn.execute(
        f"""
        SELECT count(*), count(DISTINCT id), bool_and(d > 0)
        FROM (SELECT id, id - lag(id) OVER (ORDER BY ord) AS d FROM ({sql}) q) z
        """
    ).fetchone()
    return int(row[0]), int(row[1]), bool(row[2])


@pytest.mark.slow
def test_a_million_ids_from_one_statement_are_unique_and_increasing():
    n = 1_000_000
    logical = logical_on("shard2", index=1)
    s = schema(logical)
    with shard_conn(logical) as conn:
        single = _check_one_statement(
            conn,
            f"SELECT {s}.next_id() AS id, ord "
            f"FROM generate_series(1, {n}) WITH ORDINALITY AS g(x, ord)",
            n,
        )
        batched = _check_one_statement(
            conn, f"SELECT id, ord FROM {s}.next_ids({n}) WITH ORDINALITY AS t(id, ord)", n
        )
        # The original scheme (sequence mod 1024) as inlined SQL, for contrast:
        # the same test finds its repeats, so the test can see duplicates.
        conn.execute("CREATE TEMP SEQUENCE IF NOT EXISTS baseline_seq")
        baseline = _check_one_statement(
            conn,
            f"""SELECT (((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - {EPOCH_MS})
                      << 23) | ({logical} << 10) | (nextval('baseline_seq') % 1024)) AS id, ord
                FROM generate_series(1, {n}) WITH ORDINALITY AS g(x, ord)""",
            n,
        )
    assert single == (n, n, True)
    assert batched == (n, n, True)
    assert baseline[0] == n and baseline[1] < n


def test_concurrent_generators_on_one_shard_never_collide():
    logical = logical_on("shard1", index=5)
    s = schema(logical)
    results: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker(batched: bool) -> None:
        try:
            with shard_conn(logical) as conn:
                start.wait()
                ids: list[int] = []
                for _ in range(5):
                    sql = (
                        f"SELECT * FROM {s}.next_ids(20000)"
                        if batched
                        else f"SELECT {s}.next_id() FROM generate_series(1, 20000)"
                    )
                    ids.extend(fetch_ids(conn, sql))
                    # Idle gaps make generators jump the sequence to the clock,
                    # the path that setval()s; racing it must not repeat IDs.
                    time.sleep(0.003)
                    ids.extend(fetch_ids(conn, f"SELECT {s}.next_id()"))
                results.append(ids)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    every = [value for ids in results for value in ids]
    assert len(every) == 4 * 5 * 20001
    assert len(set(every)) == len(every)
    for ids in results:
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {shard_of(v) for v in every} == {logical}


async def test_pool_counts_statements_per_server():
    from backend.shards.stats import count_statements

    with count_statements() as counter:
        await db.aexecute("shard1", "SELECT 1")
        await db.aexecute("shard2", "SELECT 1")
        await db.aexecute("shard2", "SELECT 1")
    assert counter == {"shard1": 1, "shard2": 2}
