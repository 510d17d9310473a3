"""Moving a logical shard to another physical server, online.

1. Create and migrate the schema on the target (empty).
2. On the source, in one transaction: LOCK the shard's tables IN EXCLUSIVE
   MODE (reads go on, writes wait), then take its ID lock (no sequence jumps
   or ID batches), copy every table to
   the target with COPY, carry the ID sequence over, check row counts.
3. Point the map at the target (the directory bumps the map version).
4. Drop the source schema and commit. Writers that were waiting now fail on
   the dropped schema, re-read the map and retry on the target
   (backend.shards.routing), so nothing written is lost and writes pause only
   while the copy runs.
If anything fails before step 3, the source is untouched and the partial
target copy is dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from django.db import connections

from backend.runtime import in_thread
from backend.shards import db, topology
from backend.shards.ids import schema_name
from backend.shards.migrator import migrate_schema
from backend.shards.sql import ID_LOCK_CLASS

log = logging.getLogger(__name__)


class MoveError(RuntimeError):
    pass


@dataclass
class MoveReport:
    logical: int
    source: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    write_pause_seconds: float = 0.0
    seconds: float = 0.0
    map_version: int = 0


Conn = psycopg.AsyncConnection[tuple[object, ...]]


async def _connect(server: str) -> Conn:
    # Connections of the move's own, not the pool's, straight to PostgreSQL
    # (not PgBouncer): they hold a long transaction, a session's lock_timeout
    # and COPY streams.
    return await psycopg.AsyncConnection.connect(db.direct_conninfo(server), autocommit=False)


async def _fetch(
    conn: Conn, sql: str, params: list[object] | None = None
) -> list[tuple[object, ...]]:
    cur = await conn.execute(sql, params)
    return await cur.fetchall()


async def data_tables(conn: Conn, schema: str) -> list[str]:
    rows = await _fetch(
        conn,
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> 'django_migrations'"
        " ORDER BY tablename",
        [schema],
    )
    return [str(r[0]) for r in rows]


async def schema_exists(server: str, schema: str) -> bool:
    rows = await db.aexecute(
        server, "SELECT 1 AS ok FROM pg_namespace WHERE nspname = %s", [schema]
    )
    return bool(rows)


def _migrate_target(server: str, logical: int) -> None:
    # Django's migration executor is sync: run in the runtime's thread bridge.
    try:
        migrate_schema(server, logical)
    finally:
        connections[server].close()


async def move_shard(
    logical: int,
    target: str,
    *,
    lock_timeout_s: float = 30.0,
    progress: Callable[[str], None] | None = None,
) -> MoveReport:
    """Move logical shard `logical` to physical server `target`."""
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    shard_map = await topology.refresh(force=True)
    source = shard_map.server_of(logical)
    if target not in db.servers():
        raise MoveError(f"unknown server {target!r}; servers: {', '.join(db.servers())}")
    if source == target:
        raise MoveError(f"shard {logical} is already on {target}")
    schema = schema_name(logical)
    report = MoveReport(logical=logical, source=source, target=target)

    say(f"preparing {schema} on {target}")
    if await schema_exists(target, schema):
        # A copy left by an earlier failed move: the map does not point at it.
        await db.aexecute(target, f"DROP SCHEMA {schema} CASCADE")
    await in_thread(_migrate_target, target, logical)

    src = await _connect(source)
    dst = await _connect(target)
    switched = False
    try:
        await src.execute(f"SET lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
        tables = await data_tables(src, schema)
        # Writers queue behind the LOCK request already, so the pause starts here.
        pause_started = time.monotonic()
        if tables:
            say(f"locking {len(tables)} tables for writes")
            names = ", ".join(f'{schema}."{t}"' for t in tables)
            await src.execute(f"LOCK TABLE {names} IN EXCLUSIVE MODE")
        # After the table locks: an INSERT holding its table lock may be waiting
        # in next_id() for this advisory lock; taking it first would deadlock.
        await src.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ID_LOCK_CLASS, logical])
        for t in tables:
            say(f"copying {schema}.{t}")
            report.rows[t] = await _copy_table(src, dst, schema, t)
        [last] = await _fetch(src, f"SELECT nextval('{schema}.id_seq')")
        # Past every value the source handed out, with next_id()'s jump margin.
        margin = "current_setting('max_connections')::bigint + 1"
        await dst.execute(f"SELECT setval('{schema}.id_seq', %s + {margin})", [int(str(last[0]))])
        await dst.commit()
        for t in tables:
            [count] = await _fetch(dst, f'SELECT count(*) FROM {schema}."{t}"')
            if count[0] != report.rows[t]:
                raise MoveError(f"{schema}.{t}: copied {report.rows[t]} rows, target has {count}")
        await dst.commit()
        report.map_version = await topology.set_placement(logical, target)
        switched = True
        say(f"map v{report.map_version}: {schema} -> {target}; dropping the old copy")
        await src.execute(f"DROP SCHEMA {schema} CASCADE")
        await src.commit()
        report.write_pause_seconds = round(time.monotonic() - pause_started, 3)
    except BaseException:
        await src.rollback()
        await dst.rollback()
        if not switched:
            await db.aexecute(target, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        raise
    finally:
        await src.close()
        await dst.close()
    await topology.refresh(force=True)
    report.seconds = round(time.monotonic() - started, 3)
    log.info("moved %s from %s to %s: %s", schema, source, target, report.rows)
    return report


async def _copy_table(src: Conn, dst: Conn, schema: str, table: str) -> int:
    cols = [
        str(r[0])
        for r in await _fetch(
            src,
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
            " AND NOT attisdropped ORDER BY attnum",
            [f'{schema}."{table}"'],
        )
    ]
    col_list = ", ".join(f'"{c}"' for c in cols)
    async with (
        src.cursor().copy(
            f'COPY (SELECT {col_list} FROM {schema}."{table}") TO STDOUT (FORMAT BINARY)'
        ) as out,
        dst.cursor().copy(
            f'COPY {schema}."{table}" ({col_list}) FROM STDIN (FORMAT BINARY)'
        ) as inp,
    ):
        async for chunk in out:
            await inp.write(chunk)
    [count] = await _fetch(src, f'SELECT count(*) FROM {schema}."{table}"')
    return int(str(count[0]))
