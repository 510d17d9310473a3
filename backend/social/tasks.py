"""Dramatiq actors of the social domain (thin: they call services)."""

from __future__ import annotations

import dramatiq

from backend import queue  # noqa: F401  (the broker must be set before actors are declared)
from backend.asyncrun import run


@dramatiq.actor(max_retries=20, min_backoff=1_000, max_backoff=300_000)
def reconcile_follow(follower_id: int, target_id: int) -> None:
    """Make the mirror side of one follow edge equal its source of truth."""
    from backend.social.services.edges import reconcile_edge

    run(reconcile_edge(follower_id, target_id))


@dramatiq.actor(max_retries=20, min_backoff=500, max_backoff=60_000, time_limit=600_000)
def fan_out_photo(photo_id: int, owner_id: int) -> None:
    """Queue the delivery of a new photo to its owner's followers."""
    from backend.social.feeds import do_fan_out

    do_fan_out(photo_id=photo_id, owner_id=owner_id)


@dramatiq.actor(max_retries=20, min_backoff=500, max_backoff=60_000)
def deliver_photo(photo_id: int, follower_ids: list[int]) -> None:
    """Add a photo to one chunk of followers' feeds (idempotent: ZADD)."""
    from backend.social.feeds import do_deliver

    do_deliver(photo_id=photo_id, follower_ids=follower_ids)
