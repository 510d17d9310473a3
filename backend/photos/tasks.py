"""Dramatiq actors of the photos domain (thin: they call services).

Async actors: they run on the worker's one event loop (backend/queue.py).
"""

from __future__ import annotations

import dramatiq

from backend import queue  # noqa: F401  (the broker must be set before actors are declared)


@dramatiq.actor(max_retries=20, min_backoff=1_000, max_backoff=300_000, time_limit=3_600_000)
async def sync_photo_visibility(owner_id: int) -> None:
    """Make an account's photo objects public-read or private, as its privacy is."""
    from backend.photos.visibility import do_sync_photo_visibility

    await do_sync_photo_visibility(owner_id=owner_id)
