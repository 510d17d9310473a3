"""Around a social change: its repair job before it, the event it records in
its transaction, and the caches its writer reads next.

What follows elsewhere (pushes, feeds) is done by the consumers of the
events (social/events.py); the cache invalidations here are only the fast
path for the user who made the change, and the consumers repeat them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from backend.accounts.cache import ainvalidate_users
from backend.aftercommit import after_commit
from backend.photos.selectors import PhotoRecord
from backend.queue import enqueue
from backend.shards import outbox
from backend.shards.ids import shard_of
from backend.social.services.edges import EdgeChange, Status, change_edge
from backend.social.tasks import reconcile_follow

# A reconcile job runs this long after every edge change, to repair the one
# half-written state a crash between two commits can leave (see edges.py).
RECONCILE_DELAY_MS = 30_000


async def guarded_edge_change(
    follower_id: int, target_id: int, decide: Callable[[Status], Status], *, push: bool = True
) -> EdgeChange:
    """change_edge, with its repair job queued before it starts.

    `push`: the change may notify the target (a new follower, a new request);
    off for approvals and rejections, which the target made.
    """
    await after_commit(
        enqueue(reconcile_follow.message(follower_id, target_id), delay=RECONCILE_DELAY_MS),
        "queueing the follow reconcile job",
    )
    change = await change_edge(follower_id, target_id, decide, push=push)
    if change.old != change.new:
        await after_commit(ainvalidate_users([follower_id, target_id]), "user cache invalidation")
    return change


async def record_photo_event(
    conn: psycopg.AsyncConnection[Any],
    kind: str,
    photo: PhotoRecord,
    *,
    actor_id: int,
    **extra: Any,
) -> None:
    """Record a like's or comment's event on the photo's shard, in `conn`'s transaction."""
    await outbox.record(
        conn,
        shard_of(photo.id),
        kind,
        photo_id=photo.id,
        owner_id=photo.owner_id,
        actor_id=actor_id,
        **extra,
    )
