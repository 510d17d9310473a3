"""Follow edges: one row on each side, kept equal across shards.

"A follows B" is stored twice: `Following(user_id=A, target_id=B)` on A's
shard (the source of truth) and `Follower(user_id=B, follower_id=A)` on B's
shard (the mirror), so "who does A follow" and "who follows B" are each read
from one logical shard. Every change to an edge runs `change_edge`:

1. on A's server, in one transaction: take an advisory lock on the edge (so
   changes to one edge run one at a time, even when the truth row is
   missing), read the truth row and decide the new status;
2. write the truth row;
3. inside that transaction, open a transaction on B's shard that makes the
   mirror equal to the new status (and adjusts B's follower count and the
   FOLLOW activity) and commit it;
4. adjust A's following count and commit A's transaction.

If step 3 fails, A's transaction rolls back: nothing changed. The only
half-written state is a crash between the commits of 3 and 4 (mirror ahead
of truth). `reconcile_edge` repairs it from the truth; a delayed Dramatiq job
runs it after every change.
Counts live next to the rows they count, so they change only together with
them. Count updates come last in each transaction, which keeps lock order
acyclic when A follows B while B follows A.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from backend.accounts.models import PROFILE
from backend.shards import outbox, routing
from backend.shards.ids import shard_of
from backend.social.events import FOLLOW_CHANGED
from backend.social.models import (
    ACTIVITY,
    FOLLOWER,
    FOLLOWING,
    ActivityKind,
    FollowStatus,
)

Status = str | None  # FollowStatus value, or None for "no edge"

ACTIVE = FollowStatus.ACTIVE.value


@dataclass(frozen=True)
class EdgeChange:
    follower_id: int
    target_id: int
    old: Status
    new: Status


def _active(status: Status) -> int:
    return 1 if status == ACTIVE else 0


async def _mirror(follower_id: int, target_id: int, desired: Status) -> Status:
    """Make B's Follower row equal `desired`; returns what it was."""

    async def apply(conn: psycopg.AsyncConnection[Any], schema: str) -> Status:
        cur = await conn.execute(
            f'SELECT status FROM {schema}."{FOLLOWER}" '
            "WHERE user_id = %s AND follower_id = %s FOR UPDATE",
            [target_id, follower_id],
        )
        row = await cur.fetchone()
        current: Status = row["status"] if row else None
        if current == desired:
            return current
        if desired is None:
            await conn.execute(
                f'DELETE FROM {schema}."{FOLLOWER}" WHERE user_id = %s AND follower_id = %s',
                [target_id, follower_id],
            )
        elif current is None:
            await conn.execute(
                f'INSERT INTO {schema}."{FOLLOWER}" (user_id, follower_id, status) '
                "VALUES (%s, %s, %s)",
                [target_id, follower_id, desired],
            )
        else:
            await conn.execute(
                f'UPDATE {schema}."{FOLLOWER}" SET status = %s '
                "WHERE user_id = %s AND follower_id = %s",
                [desired, target_id, follower_id],
            )
        if desired == ACTIVE:
            await conn.execute(
                f'INSERT INTO {schema}."{ACTIVITY}" (user_id, kind, actor_id) VALUES (%s, %s, %s)',
                [target_id, ActivityKind.FOLLOW.value, follower_id],
            )
        elif current == ACTIVE:
            await conn.execute(
                f'DELETE FROM {schema}."{ACTIVITY}" '
                "WHERE user_id = %s AND kind = %s AND actor_id = %s AND photo_id IS NULL",
                [target_id, ActivityKind.FOLLOW.value, follower_id],
            )
        delta = _active(desired) - _active(current)
        if delta:
            await conn.execute(
                f'UPDATE {schema}."{PROFILE}" SET follower_count = follower_count + %s '
                "WHERE user_id = %s",
                [delta, target_id],
            )
        return current

    return await routing.awrite(shard_of(target_id), apply, nested=True)


async def change_edge(
    follower_id: int, target_id: int, decide: Callable[[Status], Status], *, push: bool = True
) -> EdgeChange:
    """Change one edge: `decide(current truth)` returns the new status or raises.

    A change records FOLLOW_CHANGED in the truth's transaction (`push`: may
    its consumers notify the target).
    """

    async def on_follower_shard(conn: psycopg.AsyncConnection[Any], schema: str) -> EdgeChange:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"follow:{follower_id}:{target_id}"],
        )
        cur = await conn.execute(
            f'SELECT status FROM {schema}."{FOLLOWING}" WHERE user_id = %s AND target_id = %s',
            [follower_id, target_id],
        )
        row = await cur.fetchone()
        old: Status = row["status"] if row else None
        new = decide(old)
        if new != old:
            if new is None:
                await conn.execute(
                    f'DELETE FROM {schema}."{FOLLOWING}" WHERE user_id = %s AND target_id = %s',
                    [follower_id, target_id],
                )
            else:
                await conn.execute(
                    f'INSERT INTO {schema}."{FOLLOWING}" (user_id, target_id, status) '
                    "VALUES (%s, %s, %s) ON CONFLICT (user_id, target_id) "
                    "DO UPDATE SET status = EXCLUDED.status",
                    [follower_id, target_id, new],
                )
            await outbox.record(
                conn,
                shard_of(follower_id),
                FOLLOW_CHANGED,
                follower_id=follower_id,
                target_id=target_id,
                old=old,
                new=new,
                push=push,
            )
        # Also when nothing changed here: that repairs a mirror left behind.
        await _mirror(follower_id, target_id, new)
        delta = _active(new) - _active(old)
        if delta:
            await conn.execute(
                f'UPDATE {schema}."{PROFILE}" SET following_count = following_count + %s '
                "WHERE user_id = %s",
                [delta, follower_id],
            )
        return EdgeChange(follower_id, target_id, old, new)

    return await routing.awrite(shard_of(follower_id), on_follower_shard)


async def reconcile_edge(follower_id: int, target_id: int) -> EdgeChange:
    """Make the mirror equal the truth (a no-op when they agree)."""
    return await change_edge(follower_id, target_id, lambda current: current)
