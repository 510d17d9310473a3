"""SQL installed in every logical shard schema: the ID sequence and next_id().

The sequence holds `ms << 10 | seq` (the low 51 bits of an ID without the
shard), so one nextval() both orders IDs and counts within a millisecond; when
more than 1024 IDs are made in one millisecond the value simply runs into the
next millisecond ("borrowing" it), so IDs never repeat and never go back.

When the sequence lags the clock (the shard was idle) next_id() moves it up
to now with setval(). setval() is not atomic against concurrent nextval(), so:
  * a jump holds the shard's advisory lock exclusively;
  * next_ids(n), which takes many values without looking at the clock, holds
    the same lock shared for the whole batch;
  * a single next_id() takes no lock: a caller that draws a value during
    someone's jump sees it lagging the clock too and goes to wait for the
    lock without using it, so at most one value per connection is drawn in a
    jump's window; the jump lands `max_connections` values past the clock to
    stay clear of them.
Per-ID work is a nextval() and a clock read; shared state (the lock) is
touched once per jump or once per batch.
"""

from __future__ import annotations

from backend.shards.ids import EPOCH_MS, SEQUENCE_BITS, SHARD_BITS

# Advisory lock namespace (first key) for the per-shard ID lock.
ID_LOCK_CLASS = 0x1D5


def id_functions_sql(schema: str, shard: int) -> str:
    """Idempotent DDL for the ID sequence and functions of one schema."""
    shard_bits = shard << SEQUENCE_BITS
    return f"""
CREATE SEQUENCE IF NOT EXISTS {schema}.id_seq AS bigint MINVALUE 0 START 0;

CREATE OR REPLACE FUNCTION {schema}._clock() RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
  SELECT (floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - {EPOCH_MS})
         << {SEQUENCE_BITS}
$$;

CREATE OR REPLACE FUNCTION {schema}._catch_up(now_t bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
  v bigint;
  target bigint;
BEGIN
  PERFORM pg_advisory_lock({ID_LOCK_CLASS}, {shard});
  v := nextval('{schema}.id_seq');
  IF v < now_t THEN
    target := now_t + current_setting('max_connections')::bigint + 1;
    PERFORM setval('{schema}.id_seq', target);
    v := target;
  END IF;
  PERFORM pg_advisory_unlock({ID_LOCK_CLASS}, {shard});
  RETURN v;
EXCEPTION WHEN OTHERS THEN
  PERFORM pg_advisory_unlock({ID_LOCK_CLASS}, {shard});
  RAISE;
END $$;

CREATE OR REPLACE FUNCTION {schema}.next_id() RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
  v bigint := nextval('{schema}.id_seq');
  now_t bigint := {schema}._clock();
BEGIN
  IF v < now_t THEN
    v := {schema}._catch_up(now_t);
  END IF;
  RETURN ((v >> {SEQUENCE_BITS}) << {SEQUENCE_BITS + SHARD_BITS}) | {shard_bits} | (v & 1023);
END $$;

CREATE OR REPLACE FUNCTION {schema}.next_ids(n integer) RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
BEGIN
  IF n < 1 THEN
    RETURN;
  END IF;
  RETURN NEXT {schema}.next_id();
  PERFORM pg_advisory_lock_shared({ID_LOCK_CLASS}, {shard});
  BEGIN
    RETURN QUERY
      SELECT ((v >> {SEQUENCE_BITS}) << {SEQUENCE_BITS + SHARD_BITS}) | {shard_bits} | (v & 1023)
      FROM (SELECT nextval('{schema}.id_seq') AS v FROM generate_series(2, n)) AS s;
  EXCEPTION WHEN OTHERS THEN
    PERFORM pg_advisory_unlock_shared({ID_LOCK_CLASS}, {shard});
    RAISE;
  END;
  PERFORM pg_advisory_unlock_shared({ID_LOCK_CLASS}, {shard});
END $$;
"""
