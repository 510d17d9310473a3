"""Dramatiq actors of the social domain (thin: they call services), and its
consumers of events (backend/events.py).

Async actors: they run on the worker's one event loop (backend/queue.py).
"""

from __future__ import annotations

from typing import Any

import dramatiq

from backend import queue  # noqa: F401  (the broker must be set before actors are declared)
from backend.accounts.cache import ainvalidate_users
from backend.events import subscribe
from backend.photos.cache import ainvalidate_photos
from backend.photos.events import PHOTO_DELETED
from backend.social.events import COMMENT_DELETED, COMMENTED, FOLLOW_CHANGED, LIKED, UNLIKED
from backend.social.services.edges import reconcile_edge
from backend.social.services.photos import ado_forget_photo

Payload = dict[str, Any]


@dramatiq.actor(max_retries=20, min_backoff=1_000, max_backoff=300_000)
async def reconcile_follow(follower_id: int, target_id: int) -> None:
    """Make the mirror side of one follow edge equal its source of truth."""
    await reconcile_edge(follower_id, target_id)


@subscribe(PHOTO_DELETED)
@dramatiq.actor(max_retries=20, min_backoff=500, max_backoff=60_000)
async def social_on_photo_deleted(kind: str, payload: Payload) -> None:
    """A deleted photo's likes, comments and activity go."""
    await ado_forget_photo(photo_id=int(payload["photo_id"]))


@subscribe(LIKED, UNLIKED, COMMENTED, COMMENT_DELETED, FOLLOW_CHANGED)
@dramatiq.actor(max_retries=20, min_backoff=500, max_backoff=60_000)
async def social_invalidate_caches(kind: str, payload: Payload) -> None:
    """Cached photos and users that the change made stale (the writer already
    cleared them after its commit; this is the path that survives a crash)."""
    if kind == FOLLOW_CHANGED:
        await ainvalidate_users([int(payload["follower_id"]), int(payload["target_id"])])
    else:
        await ainvalidate_photos([int(payload["photo_id"])])
