"""Dramatiq actors of push notifications (thin: services.py and delivery.py do
the work), and the consumers of other domains' events that schedule pushes.

Async actors: they run on the worker's one event loop (backend/queue.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dramatiq
from django.conf import settings

from backend import queue  # noqa: F401  (the broker must be set before actors are declared)
from backend.events import subscribe
from backend.notifications.delivery import (
    FIRST_RETRY_DELAY_MS,
    Delivery,
    ado_deliver_retry,
    ado_send_post_pushes,
    ado_send_push,
)
from backend.notifications.services import (
    PushKind,
    ado_cancel_notification,
    amark_pending,
    apost_push_batches,
)
from backend.photos.events import PHOTO_POSTED
from backend.queue import enqueue
from backend.social.events import COMMENTED, FOLLOW_CHANGED, LIKED, UNLIKED
from backend.social.selectors.comments import get_liked_photo_ids

# A push is news for an hour at most; after that it is dropped, not sent.
MAX_AGE_MS = 3_600_000

Payload = dict[str, Any]


async def _retry_later(deliveries: Sequence[Delivery]) -> None:
    for d in deliveries:
        await enqueue(
            deliver_push.message_with_options(
                kwargs={
                    "token": d.token,
                    "recipient_id": d.recipient_id,
                    "message": d.push.message,
                    "collapse_id": d.push.collapse_id,
                }
            ),
            delay=FIRST_RETRY_DELAY_MS,
        )


@dramatiq.actor(max_retries=3, min_backoff=1_000, max_age=MAX_AGE_MS, time_limit=60_000)
async def send_push(
    kind: str, recipient_id: int, actor_id: int, photo_id: int | None, nonce: str
) -> None:
    """A push marked due by `schedule` (retries per device go to deliver_push)."""
    await _retry_later(
        await ado_send_push(
            kind=kind, recipient_id=recipient_id, actor_id=actor_id, photo_id=photo_id, nonce=nonce
        )
    )


@dramatiq.actor(max_retries=3, min_backoff=1_000, max_age=MAX_AGE_MS, time_limit=120_000)
async def send_post_pushes(actor_id: int, photo_id: int, recipient_ids: list[int]) -> None:
    """ "New photo" pushes to a batch of opted-in followers."""
    await _retry_later(
        await ado_send_post_pushes(
            actor_id=actor_id, photo_id=photo_id, recipient_ids=recipient_ids
        )
    )


@dramatiq.actor(
    max_retries=10, min_backoff=1_000, max_backoff=300_000, max_age=MAX_AGE_MS, time_limit=60_000
)
async def deliver_push(
    token: str, recipient_id: int, message: dict[str, Any], collapse_id: str
) -> None:
    """Another attempt at one device after 429/5xx/no answer, with exponential backoff."""
    if not await ado_deliver_retry(
        token=token, recipient_id=recipient_id, message=message, collapse_id=collapse_id
    ):
        # Retry (not an error): Dramatiq backs off exponentially without logging a traceback.
        raise dramatiq.Retry("APNs asked to try again later")


async def schedule(
    *, kind: PushKind, recipient_id: int, actor_id: int, photo_id: int | None = None
) -> None:
    """Mark a push due and queue its job, PUSH_DELAY_MS later."""
    nonce = await amark_pending(
        kind=kind, recipient_id=recipient_id, actor_id=actor_id, photo_id=photo_id
    )
    if nonce is None:
        return
    await enqueue(
        send_push.message_with_options(
            kwargs={
                "kind": kind.value,
                "recipient_id": recipient_id,
                "actor_id": actor_id,
                "photo_id": photo_id,
                "nonce": nonce,
            }
        ),
        delay=settings.PUSH_DELAY_MS,
    )


@subscribe(LIKED, UNLIKED, COMMENTED)
@dramatiq.actor(max_retries=5, min_backoff=500, max_age=MAX_AGE_MS)
async def push_on_photo_event(kind: str, payload: Payload) -> None:
    """A like or comment tells the photo's owner; an unlike stops a like's push."""
    photo_id = int(payload["photo_id"])
    owner_id, actor_id = int(payload["owner_id"]), int(payload["actor_id"])
    if kind == UNLIKED:
        await ado_cancel_notification(
            kind=PushKind.LIKE, recipient_id=owner_id, actor_id=actor_id, photo_id=photo_id
        )
    elif kind == LIKED:
        # Events of one photo may be handled out of order (retries, several
        # workers): a like that an unlike has taken back is not pushed.
        if photo_id in await get_liked_photo_ids(viewer_id=actor_id, photo_ids=[photo_id]):
            await schedule(
                kind=PushKind.LIKE, recipient_id=owner_id, actor_id=actor_id, photo_id=photo_id
            )
    else:
        await schedule(
            kind=PushKind.COMMENT, recipient_id=owner_id, actor_id=actor_id, photo_id=photo_id
        )


@subscribe(FOLLOW_CHANGED)
@dramatiq.actor(max_retries=5, min_backoff=500, max_age=MAX_AGE_MS)
async def push_on_follow_changed(kind: str, payload: Payload) -> None:
    """A new follower, or a new request to follow a private account, tells the target."""
    if not payload["push"]:
        return
    old, new = payload["old"], payload["new"]
    if new == "active" and old != "active":
        push = PushKind.FOLLOW
    elif new == "pending" and old is None:
        push = PushKind.FOLLOW_REQUEST
    else:
        return
    await schedule(
        kind=push, recipient_id=int(payload["target_id"]), actor_id=int(payload["follower_id"])
    )


@subscribe(PHOTO_POSTED)
@dramatiq.actor(max_retries=5, min_backoff=500, max_age=MAX_AGE_MS)
async def push_on_photo_posted(kind: str, payload: Payload) -> None:
    """ "New photo" pushes to the followers who asked for them, in batches
    (a second delivery is dropped per recipient by the post push's dedup key)."""
    await schedule_post_pushes(actor_id=int(payload["owner_id"]), photo_id=int(payload["photo_id"]))


async def schedule_post_pushes(*, actor_id: int, photo_id: int) -> None:
    """Queue the "new photo" pushes of one post, a batch per job."""
    for batch in await apost_push_batches(actor_id=actor_id):
        await enqueue(send_post_pushes.message(actor_id, photo_id, batch))
