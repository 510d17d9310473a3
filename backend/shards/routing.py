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
A transaction whose pooled connection turns out dead before it commits (the
server restarted since) runs once more on a fresh connection: nothing of it
was committed.

Reads that may be stale pass `kind=` (backend.shards.replicas: profiles,
photo lists, comments): each server's hot standby may serve them.

`afetch_by_shard_partial` is the read that degrades: while one server is down
it returns what the others hold and names the keys it could not read, so a
page shows what it can (docs/decisions/0060-reads-that-degrade.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
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


async def aquery(
    logical: int,
    sql: str,
    params: Sequence[Any] | dict[str, Any] = (),
    *,
    kind: str | None = None,
) -> list[Row]:
    """Run one statement on a logical shard ({schema} in `sql`) and return rows.
    `kind`: a read that may be stale (see db.aexecute)."""
    text = sql.replace("{schema}", schema_name(logical))
    return await _retry_async(lambda m: db.aexecute(m.server_of(logical), text, params, kind=kind))


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

    async def once(shard_map: topology.ShardMap) -> T:
        server = shard_map.server_of(logical)
        purpose = "nested" if nested else "main"
        committing = False
        async with db.aconnection(server, purpose) as conn:
            try:
                async with conn.transaction():
                    result = await fn(_ACounted(conn, server), schema_name(logical))  # type: ignore[arg-type]
                    committing = True
            except psycopg.OperationalError as exc:
                # Dead before COMMIT was sent: nothing committed, safe to repeat.
                # A failure in the COMMIT itself is not (it may have committed).
                if not committing and db.is_dead_connection(exc, conn):
                    raise _DeadConnection from exc
                raise
            except psycopg.InternalError as exc:
                if not committing and not db.lost_connection(exc):
                    raise  # the server's own internal error: a bug to see
                # The server died under a statement and PgBouncer answered
                # with an error beside it ("received 2 results from command
                # 'BEGIN'"). It is the server's unavailability, not our bug,
                # and the connection is done for. Before COMMIT nothing was
                # committed: safe to repeat. During COMMIT the outcome is
                # unknown, like any failed COMMIT.
                await conn.close()  # the pool discards it
                what = "COMMIT" if committing else "a transaction"
                lost = psycopg.OperationalError(f"{what} on {server} failed: {exc}")
                if committing:
                    raise lost from exc
                lost.__cause__ = exc
                raise _DeadConnection from lost
            return result

    async def attempt(shard_map: topology.ShardMap) -> T:
        try:
            return await once(shard_map)
        except _DeadConnection as dead:
            assert dead.__cause__ is not None
            try:
                return await once(shard_map)
            except _DeadConnection as again:
                raise again.__cause__ from None  # type: ignore[misc]

    return await _retry_async(attempt)


class _DeadConnection(Exception):
    """A transaction's pooled connection was dead before it committed."""


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


async def afetch_many(
    model: type[models.Model], column: str, keys: Iterable[int], *, kind: str | None = None
) -> list[Row]:
    """Rows whose `column` is in `keys`, each key routed by its shard bits:
    one statement per physical server, asked concurrently; no particular order.
    `kind`: a read that may be stale (see db.aexecute)."""
    cols = ", ".join(f't."{c}"' for c in _columns(model))

    def select(schema: str, keys_here: list[int]) -> tuple[str, list[Any]]:
        return (
            f'SELECT {cols} FROM {schema}."{table(model)}" t WHERE t."{column}" = ANY(%s)',
            [keys_here],
        )

    return await afetch_by_shard(keys, select, kind=kind)


async def afetch_many_partial(
    model: type[models.Model], column: str, keys: Iterable[int], *, kind: str | None = None
) -> Partial:
    """`afetch_many` that degrades: see `afetch_by_shard_partial`."""
    cols = ", ".join(f't."{c}"' for c in _columns(model))

    def select(schema: str, keys_here: list[int]) -> tuple[str, list[Any]]:
        return (
            f'SELECT {cols} FROM {schema}."{table(model)}" t WHERE t."{column}" = ANY(%s)',
            [keys_here],
        )

    return await afetch_by_shard_partial(keys, select, kind=kind)


Select = Callable[[str, list[int]], tuple[str, list[Any]]]


@dataclass
class Partial:
    """Rows of the servers that answered, and the keys of those that did not
    (each with what its server raised)."""

    rows: list[Row] = field(default_factory=list)
    unavailable: dict[int, BaseException] = field(default_factory=dict)

    def raise_if_incomplete(self) -> list[Row]:
        if self.unavailable:
            raise next(iter(self.unavailable.values()))
        return self.rows


async def afetch_by_shard(
    keys: Iterable[int], select: Select, *, kind: str | None = None
) -> list[Row]:
    """The general batched read: `select(schema, keys_on_that_shard)` gives one
    SELECT per logical shard; they are joined with UNION ALL into one statement
    per physical server, and the servers are asked concurrently.

    Every SELECT must return the same columns. A server that cannot be
    reached fails the whole read (see `afetch_by_shard_partial`). `kind`: a
    read that may be stale, served by each server's hot standby when allowed
    (see db.aexecute).
    """
    return (await afetch_by_shard_partial(keys, select, kind=kind)).raise_if_incomplete()


async def afetch_by_shard_partial(
    keys: Iterable[int], select: Select, *, kind: str | None = None
) -> Partial:
    """`afetch_by_shard`, but a server that is down (db.UNAVAILABLE) only costs
    its own keys: they are returned in `unavailable`, the rest as rows."""
    wanted = sorted(set(keys))

    async def one_server(
        server: str, by_logical: dict[int, list[int]]
    ) -> list[Row] | BaseException:
        parts, params = [], []
        for logical, keys_here in sorted(by_logical.items()):
            sql, part_params = select(schema_name(logical), keys_here)
            parts.append(f"({sql})")
            params.extend(part_params)
        try:
            return await db.aexecute(server, " UNION ALL ".join(parts), params, kind=kind)
        except db.UNAVAILABLE as exc:
            return exc

    async def attempt(shard_map: topology.ShardMap) -> Partial:
        groups = shard_map.group(wanted)
        if len(groups) == 1:  # no task to make when one server answers it all
            results = [await one_server(*next(iter(groups.items())))]
        else:
            results = await asyncio.gather(*(one_server(s, g) for s, g in groups.items()))
        out = Partial()
        for by_logical, result in zip(groups.values(), results, strict=True):
            if isinstance(result, BaseException):
                out.unavailable.update(
                    (key, result) for keys_here in by_logical.values() for key in keys_here
                )
            else:
                out.rows.extend(result)
        return out

    return await _retry_async(attempt) if wanted else Partial()
