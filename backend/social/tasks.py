"""Dramatiq actors of the social domain (thin: they call services).

Async actors: they run on the worker's one event loop (backend/queue.py).
"""

from __future__ import annotations

import dramatiq

from backend import queue  # noqa: F401  (the broker must be set before actors are declared)


@dramatiq.actor(max_retries=20, min_backoff=1_000, max_backoff=300_000)
async def reconcile_follow(follower_id: int, target_id: int) -> None:
    """Make the mirror side of one follow edge equal its source of truth."""
    from backend.social.services.edges import reconcile_edge

    await reconcile_edge(follower_id, target_id)


@dramatiq.actor(max_retries=20, min_backoff=500, max_backoff=60_000, time_limit=600_000)
async def fan_out_photo(photo_id: int, owner_id: int) -> None:
    """Queue the delivery of a new photo to its owner's followers."""
    from backend.social.feeds import ado_fan_out

    await ado_fan_out(photo_id=photo_id, owner_id=owner_id)


@dramatiq.actor(max_retries=20, min_backoff=500, max_backoff=60_000)
async def deliver_photo(photo_id: int, follower_ids: list[int]) -> None:
    """Add a photo to one chunk of followers' feeds (idempotent: ZADD)."""
    from backend.social.feeds import ado_deliver

    await ado_deliver(photo_id=photo_id, follower_ids=follower_ids)
