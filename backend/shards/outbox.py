"""The outbox: domain events written in the same transaction as the change
they report, then handed to their consumers (Dramatiq actors) by a relay.

Storage: one `outbox` table per physical shard server, in its `public`
schema (created by `migrate_shards`, `ensure_table`). A write on any logical
schema of that server records its events there in its own transaction, so
an event commits or rolls back with its rows, and the commit wakes the relay
(NOTIFY on channel `outbox`, sent by PostgreSQL only at commit).

The relay (`relay_forever`, run by every Dramatiq worker process: see
backend/worker.py; `python -m backend.relay` for one process of its own)
claims a batch with FOR UPDATE SKIP LOCKED, enqueues one message per
consumer, then deletes the batch and commits. A relay that dies after the
enqueue and before the commit leaves the rows in place, and the next relay
sends them again: delivery is at least once, and consumers are idempotent.
Several relays share the work without sending an event twice while they
live (SKIP LOCKED). A poll every OUTBOX_POLL_SECONDS is the safety net for a
lost notification (a relay that was reconnecting when it was sent).

A shard move leaves its events where they are: `public.outbox` is not part
of the schema the move copies and drops, and the source server's relay goes
on sending them. Events name rows by ID, and consumers find those rows
through the shard map, wherever they live by then (tests/test_outbox.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dramatiq
import psycopg
from django.conf import settings
from psycopg.types.json import Jsonb

from backend import events, runtime
from backend.queue import broker
from backend.shards import db, topology

log = logging.getLogger(__name__)

TABLE = "public.outbox"
CHANNEL = "outbox"
BATCH = 500

CREATE_SQL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigserial PRIMARY KEY,
    logical integer NOT NULL,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS outbox_logical ON {TABLE} (logical);
"""

# One statement: the insert, and the notification that goes out at commit.
_RECORD = (
    f"WITH e AS (INSERT INTO {TABLE} (logical, kind, payload) VALUES (%s, %s, %s) RETURNING 1) "
    f"SELECT pg_notify('{CHANNEL}', '') FROM e"
)


@dataclass(frozen=True)
class Event:
    id: int
    logical: int
    kind: str
    payload: dict[str, Any]


async def record(
    conn: psycopg.AsyncConnection[Any], logical: int, kind: str, **payload: Any
) -> None:
    """Record an event in the transaction `conn` is in (routing.awrite's)."""
    await conn.execute(_RECORD, [logical, kind, Jsonb(payload)])


async def pending(server: str, *, logical: int | None = None) -> int:
    """Events on `server` not yet relayed (of one logical shard if given)."""
    where, params = ("WHERE logical = %s", [logical]) if logical is not None else ("", [])
    rows = await db.aexecute(server, f"SELECT count(*) AS n FROM {TABLE} {where}", params)
    return int(rows[0]["n"])


def messages(event: Event) -> list[dramatiq.Message[Any]]:
    """One message per consumer of the event."""
    return [
        actor.message_with_options(args=(event.kind, event.payload))
        for actor in events.consumers(event.kind)
    ]


def _enqueue_all(batch: Sequence[dramatiq.Message[Any]]) -> None:
    for message in batch:
        broker.enqueue(message)


async def relay_once(server: str, *, limit: int = BATCH) -> int:
    """Hand one batch of `server`'s events to their consumers; returns how many."""
    async with db.aconnection(server) as conn, conn.transaction():
        cur = await conn.execute(
            f"SELECT id, logical, kind, payload FROM {TABLE} ORDER BY id LIMIT %s "
            "FOR UPDATE SKIP LOCKED",
            [limit],
        )
        rows = await cur.fetchall()
        if not rows:
            return 0
        batch = [
            Event(int(r["id"]), int(r["logical"]), str(r["kind"]), dict(r["payload"])) for r in rows
        ]
        await runtime.in_thread(_enqueue_all, [m for e in batch for m in messages(e)])
        if os.environ.get("OUTBOX_FAULT") == "exit-after-enqueue":
            # Tests only (tests/test_outbox.py): die between enqueue and delete.
            os._exit(17)
        await conn.execute(f"DELETE FROM {TABLE} WHERE id = ANY(%s)", [[e.id for e in batch]])
        return len(batch)


async def drain(server: str) -> int:
    """Relay until `server`'s outbox has nothing this relay can claim."""
    total = 0
    while n := await relay_once(server):
        total += n
    return total


async def _relay_server(server: str, poll: float) -> None:
    """One server's relay: drain, then sleep until a NOTIFY or `poll` seconds."""
    while True:
        try:
            # LISTEN holds a session: its own connection, not a pooled one,
            # straight to PostgreSQL (PgBouncer's transaction pooling would
            # hand the session to other clients between statements).
            async with await psycopg.AsyncConnection.connect(
                db.direct_conninfo(server), autocommit=True
            ) as listener:
                await listener.execute(f"LISTEN {CHANNEL}")
                while True:
                    await drain(server)
                    async for _ in listener.notifies(timeout=poll, stop_after=1):
                        pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox relay for %s failed; retrying", server)
            await asyncio.sleep(min(poll, 1.0))
            # A failover may have moved the primary: reconnect to the new one.
            with contextlib.suppress(Exception):
                await topology.refresh(force=True)


async def relay_forever(servers: Sequence[str] | None = None) -> None:
    """Relay every shard server's outbox until cancelled."""
    poll = float(settings.OUTBOX_POLL_SECONDS)
    await asyncio.gather(*(_relay_server(s, poll) for s in servers or db.servers()))
