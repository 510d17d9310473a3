"""Push notifications: device tokens, opt-ins, and scheduling pushes.

The rest of the product calls `do_notify` / `ado_notify` after a change has
committed; the push itself goes out from a Dramatiq worker (tasks.py →
delivery.py), PUSH_DELAY_MS later, so that `do_cancel_notification` (an
unlike right after the like) can still stop it.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Sequence

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.errors import InvalidInput
from backend.notifications import keys, tasks
from backend.notifications.models import DeviceToken, PostNotificationOptIn
from backend.redisconn import async_client, sync_client


class PushKind(enum.StrEnum):
    LIKE = "like"
    COMMENT = "comment"
    FOLLOW = "follow"
    FOLLOW_REQUEST = "follow_request"
    POST = "post"


# APNs tokens are 32 bytes today; Apple warns they may grow, so allow up to 100.
TOKEN_RE = re.compile(r"(?:[0-9a-f]{2}){32,100}")
# Followers per queued batch of post pushes.
POST_BATCH = 500


def check_device_token(token: str) -> str:
    """The token normalised (lower-case hex), or InvalidInput."""
    normalised = token.strip().lower()
    if not TOKEN_RE.fullmatch(normalised):
        raise InvalidInput("token must be an APNs device token: 64 to 200 hexadecimal digits")
    return normalised


async def ado_register_device(*, account_id: int, token: str) -> None:
    """Register a device for pushes to `account_id`.

    A device token names one device, so registering it for a second account
    moves it: whoever signed in on the phone last gets its pushes.
    """
    token = check_device_token(token)
    await DeviceToken.objects.aupdate_or_create(
        token=token, defaults={"account_id": account_id, "registered_at": timezone.now()}
    )


async def ado_unregister_device(*, account_id: int, token: str) -> bool:
    """Stop pushes to a device of `account_id`; False when it was not registered to them."""
    token = check_device_token(token)
    deleted, _ = await DeviceToken.objects.filter(token=token, account_id=account_id).adelete()
    return deleted > 0


async def ado_set_post_notifications(*, account_id: int, followed_id: int, enabled: bool) -> bool:
    """Opt in to (or out of) a push whenever `followed_id` posts a photo; returns `enabled`."""
    if followed_id == account_id:
        raise InvalidInput("you cannot subscribe to your own posts")
    if enabled:
        await PostNotificationOptIn.objects.abulk_create(
            [PostNotificationOptIn(account_id=account_id, followed_id=followed_id)],
            ignore_conflicts=True,
        )
    else:
        await PostNotificationOptIn.objects.filter(
            account_id=account_id, followed_id=followed_id
        ).adelete()
    return enabled


async def ado_reset_badge(*, account_id: int) -> None:
    """The user has seen their activity: the next push starts the badge at 1."""
    await async_client().delete(keys.badge_key(account_id))


def do_notify(
    *, kind: PushKind, recipient_id: int, actor_id: int, photo_id: int | None = None
) -> None:
    """Schedule a push to `recipient_id`'s devices about `actor_id`'s action.

    Runs when the directory transaction (if one is open) commits; nothing is
    sent for an action on your own account. The worker drops the push if it
    was cancelled, or if the same (recipient, photo, kind) was pushed within
    PUSH_DEDUP_SECONDS.
    """
    if actor_id == recipient_id:
        return
    kind = PushKind(kind)

    def schedule() -> None:
        # The nonce makes "like, unlike, like" send one push (for the last
        # like): only the job whose nonce is in the marker may send.
        nonce = uuid.uuid4().hex
        key = keys.pending_key(kind, recipient_id, actor_id, photo_id)
        sync_client().set(key, nonce, ex=keys.PENDING_TTL_SECONDS)
        tasks.send_push.send_with_options(
            kwargs={
                "kind": kind.value,
                "recipient_id": recipient_id,
                "actor_id": actor_id,
                "photo_id": photo_id,
                "nonce": nonce,
            },
            delay=settings.PUSH_DELAY_MS,
        )

    transaction.on_commit(schedule, using="default")


async def ado_notify(
    *, kind: PushKind, recipient_id: int, actor_id: int, photo_id: int | None = None
) -> None:
    """`do_notify` for async callers (its Redis calls run off the event loop)."""
    if actor_id == recipient_id:
        return
    # thread_sensitive: the request's own sync thread, whose directory
    # connection goes back to the pool when the request ends (an executor
    # thread would keep one for its lifetime and exhaust the pool).
    await sync_to_async(do_notify, thread_sensitive=True)(
        kind=kind, recipient_id=recipient_id, actor_id=actor_id, photo_id=photo_id
    )


def do_cancel_notification(
    *, kind: PushKind, recipient_id: int, actor_id: int, photo_id: int | None
) -> None:
    """Make sure a push scheduled by `do_notify` and not yet sent is never sent."""
    key = keys.pending_key(PushKind(kind), recipient_id, actor_id, photo_id)
    transaction.on_commit(lambda: sync_client().delete(key), using="default")


async def ado_cancel_notification(
    *, kind: PushKind, recipient_id: int, actor_id: int, photo_id: int | None
) -> None:
    await sync_to_async(do_cancel_notification, thread_sensitive=True)(
        kind=kind, recipient_id=recipient_id, actor_id=actor_id, photo_id=photo_id
    )


def do_notify_followers_of_post(
    *, actor_id: int, photo_id: int, recipient_ids: Sequence[int]
) -> None:
    """Push "new photo" to those of `recipient_ids` who opted in for `actor_id`'s posts.

    Called from the fan-out with a page of followers: one query finds the
    subscribers among them, and they are queued in batches, not one job each.
    """
    from backend.notifications.selectors import get_post_subscribers

    subscribers = [
        r for r in get_post_subscribers(followed_id=actor_id, among=recipient_ids) if r != actor_id
    ]
    if not subscribers:
        return

    def schedule() -> None:
        for start in range(0, len(subscribers), POST_BATCH):
            tasks.send_post_pushes.send(
                actor_id=actor_id,
                photo_id=photo_id,
                recipient_ids=subscribers[start : start + POST_BATCH],
            )

    transaction.on_commit(schedule, using="default")


async def ado_notify_followers_of_post(
    *, actor_id: int, photo_id: int, recipient_ids: Sequence[int]
) -> None:
    await sync_to_async(do_notify_followers_of_post, thread_sensitive=True)(
        actor_id=actor_id, photo_id=photo_id, recipient_ids=recipient_ids
    )
