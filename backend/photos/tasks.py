"""Dramatiq actors of the photos domain (thin: they call services), and its
consumers of events (backend/events.py).

Async actors: they run on the worker's one event loop (backend/queue.py).
"""

from __future__ import annotations

from typing import Any

import dramatiq

from backend import queue  # noqa: F401  (the broker must be set before actors are declared)
from backend.accounts.events import PRIVACY_CHANGED
from backend.events import subscribe
from backend.photos.events import PHOTO_DELETED, PHOTO_POSTED
from backend.photos.services import ado_after_photo_deleted, ado_after_photo_posted
from backend.photos.visibility import do_sync_photo_visibility

Payload = dict[str, Any]


@subscribe(PRIVACY_CHANGED)
@dramatiq.actor(max_retries=20, min_backoff=1_000, max_backoff=300_000, time_limit=3_600_000)
async def photos_on_privacy_changed(kind: str, payload: Payload) -> None:
    """The objects follow the account's privacy (idempotent: reads the flag itself)."""
    await do_sync_photo_visibility(owner_id=int(payload["user_id"]))


@subscribe(PHOTO_POSTED, PHOTO_DELETED)
@dramatiq.actor(max_retries=20, min_backoff=500, max_backoff=60_000)
async def photos_on_photo_event(kind: str, payload: Payload) -> None:
    """The photo map follows photos; a deleted photo's objects and cache go."""
    photo_id, owner_id = int(payload["photo_id"]), int(payload["owner_id"])
    if kind == PHOTO_POSTED:
        await ado_after_photo_posted(photo_id=photo_id, owner_id=owner_id)
    else:
        await ado_after_photo_deleted(photo_id=photo_id, owner_id=owner_id, key=payload["key"])
