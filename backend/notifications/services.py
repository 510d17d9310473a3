"""Push notifications: device tokens, opt-ins, and scheduling pushes.

The rest of the product calls `ado_notify` after a change has committed; the
push itself goes out from a Dramatiq worker (tasks.py → delivery.py),
PUSH_DELAY_MS later, so that `ado_cancel_notification` (an unlike right after
the like) can still stop it.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Sequence

import psycopg
from django.conf import settings

from backend.errors import InvalidInput, NotAuthenticated
from backend.notifications import keys, tasks
from backend.notifications.models import DeviceToken, PostNotificationOptIn
from backend.queue import enqueue
from backend.redisconn import async_client
from backend.shards import db

DEVICE = DeviceToken._meta.db_table
OPT_IN = PostNotificationOptIn._meta.db_table


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


async def ado_register_device(
    *, account_id: int, token: str, auth_token: str | None = None
) -> None:
    """Register a device for pushes to `account_id`, through session `auth_token`.

    `auth_token` is the key hash of the bearer token the app signed in with
    (TokenSession.key_hash): logging that session out unregisters the device.
    A device token names one device, so registering it for a second account
    moves it: whoever signed in on the phone last gets its pushes.
    """
    token = check_device_token(token)
    try:
        await db.aexecute(
            db.DIRECTORY,
            f'INSERT INTO "{DEVICE}" (token, account_id, auth_token_id, registered_at) '
            "VALUES (%s, %s, %s, now()) "
            "ON CONFLICT (token) DO UPDATE SET account_id = EXCLUDED.account_id, "
            "auth_token_id = EXCLUDED.auth_token_id, registered_at = EXCLUDED.registered_at",
            [token, account_id, auth_token],
        )
    except psycopg.errors.ForeignKeyViolation:
        # The session was logged out while this request ran.
        raise NotAuthenticated("the token has been revoked") from None


async def ado_unregister_device(*, account_id: int, token: str) -> bool:
    """Stop pushes to a device of `account_id`; False when it was not registered to them."""
    token = check_device_token(token)
    rows = await db.aexecute(
        db.DIRECTORY,
        f'DELETE FROM "{DEVICE}" WHERE token = %s AND account_id = %s RETURNING token',
        [token, account_id],
    )
    return bool(rows)


async def ado_set_post_notifications(*, account_id: int, followed_id: int, enabled: bool) -> bool:
    """Opt in to (or out of) a push whenever `followed_id` posts a photo; returns `enabled`."""
    if followed_id == account_id:
        raise InvalidInput("you cannot subscribe to your own posts")
    if enabled:
        await db.aexecute(
            db.DIRECTORY,
            f'INSERT INTO "{OPT_IN}" (account_id, followed_id, created_at) '
            "VALUES (%s, %s, now()) ON CONFLICT DO NOTHING",
            [account_id, followed_id],
        )
    else:
        await db.aexecute(
            db.DIRECTORY,
            f'DELETE FROM "{OPT_IN}" WHERE account_id = %s AND followed_id = %s',
            [account_id, followed_id],
        )
    return enabled


async def ado_reset_badge(*, account_id: int) -> None:
    """The user has seen their activity: the next push starts the badge at 1."""
    await async_client().delete(keys.badge_key(account_id))


async def ado_notify(
    *, kind: PushKind, recipient_id: int, actor_id: int, photo_id: int | None = None
) -> None:
    """Schedule a push to `recipient_id`'s devices about `actor_id`'s action.

    Call it after the change has committed; nothing is sent for an action on
    your own account. The worker drops the push if it was cancelled, or if
    the same (recipient, photo, kind) was pushed within PUSH_DEDUP_SECONDS.
    """
    if actor_id == recipient_id:
        return
    kind = PushKind(kind)
    # The nonce makes "like, unlike, like" send one push (for the last like):
    # only the job whose nonce is in the marker may send.
    nonce = uuid.uuid4().hex
    key = keys.pending_key(kind, recipient_id, actor_id, photo_id)
    await async_client().set(key, nonce, ex=keys.PENDING_TTL_SECONDS)
    await enqueue(
        tasks.send_push.message_with_options(
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


async def ado_cancel_notification(
    *, kind: PushKind, recipient_id: int, actor_id: int, photo_id: int | None
) -> None:
    """Make sure a push scheduled by `ado_notify` and not yet sent is never sent."""
    await async_client().delete(keys.pending_key(PushKind(kind), recipient_id, actor_id, photo_id))


async def ado_notify_followers_of_post(
    *, actor_id: int, photo_id: int, recipient_ids: Sequence[int]
) -> None:
    """Push "new photo" to those of `recipient_ids` who opted in for `actor_id`'s posts.

    Called from the fan-out with a page of followers: one query finds the
    subscribers among them, and they are queued in batches, not one job each.
    """
    from backend.notifications.selectors import get_post_subscribers

    found = await get_post_subscribers(followed_id=actor_id, among=recipient_ids)
    subscribers = [r for r in found if r != actor_id]
    for start in range(0, len(subscribers), POST_BATCH):
        await enqueue(
            tasks.send_post_pushes.message_with_options(
                kwargs={
                    "actor_id": actor_id,
                    "photo_id": photo_id,
                    "recipient_ids": subscribers[start : start + POST_BATCH],
                }
            )
        )
