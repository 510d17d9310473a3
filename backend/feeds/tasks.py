"""Dramatiq actors of the feeds domain (thin: they call services), and its
consumers of events (backend/events.py).

Async actors: they run on the worker's one event loop (backend/queue.py).
"""

from __future__ import annotations

from typing import Any

import dramatiq

from backend import queue  # noqa: F401  (the broker must be set before actors are declared)
from backend.events import subscribe
from backend.feeds.services import ado_deliver, ado_publish, aon_follow_changed, follower_chunks
from backend.photos.events import PHOTO_POSTED
from backend.queue import enqueue
from backend.social.events import FOLLOW_CHANGED

Payload = dict[str, Any]


@subscribe(PHOTO_POSTED)
@dramatiq.actor(max_retries=20, min_backoff=500, max_backoff=60_000)
async def feeds_on_photo_posted(kind: str, payload: Payload) -> None:
    """A new photo reaches its owner's feed, then its followers' (fan-out)."""
    photo_id, owner_id = int(payload["photo_id"]), int(payload["owner_id"])
    # (events recorded before the count rode along have none)
    count = payload.get("follower_count")
    followers = None if count is None else int(count)
    if await ado_publish(photo_id=photo_id, owner_id=owner_id, follower_count=followers):
        await enqueue(fan_out_photo.message(photo_id, owner_id))


@dramatiq.actor(max_retries=20, min_backoff=500, max_backoff=60_000, time_limit=600_000)
async def fan_out_photo(photo_id: int, owner_id: int) -> None:
    """Queue the delivery of a new photo to its owner's followers, a chunk each."""
    async for follower_ids in follower_chunks(owner_id):
        await enqueue(deliver_photo.message(photo_id, follower_ids))


@dramatiq.actor(max_retries=20, min_backoff=500, max_backoff=60_000)
async def deliver_photo(photo_id: int, follower_ids: list[int]) -> None:
    """Add a photo to one chunk of followers' feeds (idempotent: ZADD)."""
    await ado_deliver(photo_id=photo_id, follower_ids=follower_ids)


@subscribe(FOLLOW_CHANGED)
@dramatiq.actor(max_retries=20, min_backoff=500, max_backoff=60_000)
async def feeds_on_follow_changed(kind: str, payload: Payload) -> None:
    """A new follow backfills the followed account's recent photos."""
    await aon_follow_changed(
        follower_id=int(payload["follower_id"]),
        target_id=int(payload["target_id"]),
        new=payload["new"],
    )
