"""Reading and writing sharded rows.

Rows are addressed by an ID (or an owner's user ID): its shard bits name the
logical shard, the map names the physical server. SQL is written with a
`{schema}` placeholder that is filled with the logical shard's schema.

`afetch_many` is the batched read the DataLoaders use: keys spread over many
logical shards become one `UNION ALL` statement per physical server, and the
servers are asked concurrently.

Every call retries when the schema it used has moved to another server
(`shards move`): the old copy is dropped at the end of a move, the statement
fails, the map is re-read and the call runs again against the new server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg
from django.db import models

from backend.shards import db, stats, topology
from backend.shards.db import Row
from backend.shards.ids import schema_name

T = TypeVar("T")

# Errors that mean "this schema is not (or no longer) on that server".
MOVED_ERRORS: tuple[type[Exception], ...] = (
    psycopg.errors.UndefinedTable,
    psycopg.errors.InvalidSchemaName,
    psycopg.errors.UndefinedFunction,
    psycopg.errors.UndefinedObject,
)
RETRY_SECONDS = 15.0


def table(model: type[models.Model]) -> str:
    return model._meta.db_table


def _columns(model: type[models.Model]) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


async def _retry_async(fn: Callable[[topology.ShardMap], Awaitable[T]]) -> T:
    deadline = time.monotonic() + RETRY_SECONDS
    shard_map = await topology.aget_map()
    while True:
        try:
            return await fn(shard_map)
        except MOVED_ERRORS:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
            shard_map = await topology.arefresh()


async def aquery(logical: int, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
    """Run one statement on a logical shard ({schema} in `sql`) and return rows."""
    text = sql.replace("{schema}", schema_name(logical))
    return await _retry_async(lambda m: db.aexecute(m.server_of(logical), text, params))


async def awrite(
    logical: int,
    fn: Callable[[psycopg.AsyncConnection[Row], str], Awaitable[T]],
    *,
    nested: bool = False,
) -> T:
    """Run `fn(conn, schema)` in one transaction on the logical shard's server.

    `fn` may run more than once (after a shard move), so it must not have
    side effects outside the transaction. `nested=True` for a transaction
    opened inside another one: it draws from a separate pool (db.aconnection).
    """

    async def attempt(shard_map: topology.ShardMap) -> T:
        server = shard_map.server_of(logical)
        purpose = "nested" if nested else "main"
        async with db.aconnection(server, purpose) as conn, conn.transaction():
            return await fn(_ACounted(conn, server), schema_name(logical))  # type: ignore[arg-type]

    return await _retry_async(attempt)


class _ACounted:
    """A connection proxy that counts statements for backend.shards.stats."""

    def __init__(self, conn: psycopg.AsyncConnection[Row], server: str) -> None:
        self._conn, self._server = conn, server

    async def execute(self, sql: str, params: Any = ()) -> psycopg.AsyncCursor[Row]:
        stats.record(self._server)
        start = time.perf_counter()
        try:
            return await self._conn.execute(sql.encode(), params)
        finally:
            stats.observe(self._server, time.perf_counter() - start)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


async def afetch_many(model: type[models.Model], column: str, keys: Iterable[int]) -> list[Row]:
    """Rows whose `column` is in `keys`, each key routed by its shard bits:
    one statement per physical server, asked concurrently; no particular order."""
    cols = ", ".join(f't."{c}"' for c in _columns(model))

    def select(schema: str, keys_here: list[int]) -> tuple[str, list[Any]]:
        return (
            f'SELECT {cols} FROM {schema}."{table(model)}" t WHERE t."{column}" = ANY(%s)',
            [keys_here],
        )

    return await afetch_by_shard(keys, select)


async def afetch_by_shard(
    keys: Iterable[int], select: Callable[[str, list[int]], tuple[str, list[Any]]]
) -> list[Row]:
    """The general batched read: `select(schema, keys_on_that_shard)` gives one
    SELECT per logical shard; they are joined with UNION ALL into one statement
    per physical server, and the servers are asked concurrently.

    Every SELECT must return the same columns.
    """
    wanted = sorted(set(keys))

    async def attempt(shard_map: topology.ShardMap) -> list[Row]:
        statements = []
        for server, by_logical in shard_map.group(wanted).items():
            parts, params = [], []
            for logical, keys_here in sorted(by_logical.items()):
                sql, part_params = select(schema_name(logical), keys_here)
                parts.append(f"({sql})")
                params.extend(part_params)
            statements.append(db.aexecute(server, " UNION ALL ".join(parts), params))
        if len(statements) == 1:  # no task to make when one server answers it all
            return await statements[0]
        results = await asyncio.gather(*statements)
        return [row for rows in results for row in rows]

    return await _retry_async(attempt) if wanted else []
