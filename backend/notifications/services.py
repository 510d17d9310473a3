"""Push notifications: device tokens, opt-ins, and scheduling pushes.

Pushes follow the events of other domains (likes, comments, follows, new
photos): the consumers in tasks.py mark a push as due here and queue its job,
which goes out from a Dramatiq worker (delivery.py) PUSH_DELAY_MS later, so
that `ado_cancel_notification` (an unlike right after the like) can still stop it.
"""

from __future__ import annotations

import enum
import re
import uuid

import psycopg

from backend import runtime
from backend.errors import InvalidInput, NotAuthenticated
from backend.notifications import keys
from backend.notifications.models import DEVICE, OPT_IN
from backend.notifications.selectors import get_all_post_subscribers
from backend.shards import db
from backend.social.selectors.follows import get_active_followers_among


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
    await runtime.redis().delete(keys.badge_key(account_id))


async def amark_pending(
    *, kind: PushKind, recipient_id: int, actor_id: int, photo_id: int | None
) -> str | None:
    """Mark a push to `recipient_id` about `actor_id`'s action as due; returns
    the nonce its job must carry (tasks.py queues it), or None when there is
    nothing to push (an action on your own account).

    The nonce makes "like, unlike, like" send one push (for the last like):
    only the job whose nonce is in the marker may send, and a second delivery
    of the same event replaces the first one's nonce, so it too sends once.
    The worker also drops a push if the same (recipient, photo, kind) was
    pushed within PUSH_DEDUP_SECONDS.
    """
    if actor_id == recipient_id:
        return None
    nonce = uuid.uuid4().hex
    key = keys.pending_key(PushKind(kind), recipient_id, actor_id, photo_id)
    await runtime.redis().set(key, nonce, ex=keys.PENDING_TTL_SECONDS)
    return nonce


async def ado_cancel_notification(
    *, kind: PushKind, recipient_id: int, actor_id: int, photo_id: int | None
) -> None:
    """Make sure a push scheduled by `tasks.schedule` and not yet sent is never sent."""
    await runtime.redis().delete(keys.pending_key(PushKind(kind), recipient_id, actor_id, photo_id))


async def apost_push_batches(*, actor_id: int) -> list[list[int]]:
    """Who gets a "new photo" push for `actor_id`'s post, in batches of
    POST_BATCH: those who opted in and still follow the account (actively)."""
    subscribers = [s for s in await get_all_post_subscribers(followed_id=actor_id) if s != actor_id]
    if not subscribers:
        return []
    followers = await get_active_followers_among(user_id=actor_id, among=subscribers)
    wanted = [s for s in subscribers if s in followers]
    return [wanted[i : i + POST_BATCH] for i in range(0, len(wanted), POST_BATCH)]
