"""Dramatiq actors of push notifications (thin: delivery.py does the work)."""

from __future__ import annotations

from typing import Any

import dramatiq

from backend import queue  # noqa: F401  (the broker must be set before actors are declared)

# A push is news for an hour at most; after that it is dropped, not sent.
MAX_AGE_MS = 3_600_000


@dramatiq.actor(max_retries=3, min_backoff=1_000, max_age=MAX_AGE_MS, time_limit=60_000)
async def send_push(
    kind: str, recipient_id: int, actor_id: int, photo_id: int | None, nonce: str
) -> None:
    """A push scheduled by services.do_notify (retries per device go to deliver_push)."""
    from backend.notifications.delivery import ado_send_push

    await ado_send_push(
        kind=kind, recipient_id=recipient_id, actor_id=actor_id, photo_id=photo_id, nonce=nonce
    )


@dramatiq.actor(max_retries=3, min_backoff=1_000, max_age=MAX_AGE_MS, time_limit=120_000)
async def send_post_pushes(actor_id: int, photo_id: int, recipient_ids: list[int]) -> None:
    """ "New photo" pushes to a batch of opted-in followers."""
    from backend.notifications.delivery import ado_send_post_pushes

    await ado_send_post_pushes(actor_id=actor_id, photo_id=photo_id, recipient_ids=recipient_ids)


@dramatiq.actor(
    max_retries=10, min_backoff=1_000, max_backoff=300_000, max_age=MAX_AGE_MS, time_limit=60_000
)
async def deliver_push(
    token: str, recipient_id: int, message: dict[str, Any], collapse_id: str
) -> None:
    """Another attempt at one device after 429/5xx/no answer, with exponential backoff."""
    from backend.notifications.delivery import ado_deliver_retry

    if not await ado_deliver_retry(
        token=token, recipient_id=recipient_id, message=message, collapse_id=collapse_id
    ):
        # Retry (not an error): Dramatiq backs off exponentially without logging a traceback.
        raise dramatiq.Retry("APNs asked to try again later")
