"""The worker side of pushes: claim, build, send through APNs, handle Apple's answer.

Called by the actors in tasks.py, which queue the retries it returns. Apple's answers:
- 200: sent; the token's last_used_at is updated.
- 410 (Unregistered, ExpiredToken) or 400 BadDeviceToken/DeviceTokenNotForTopic:
  the token is dead and its row is removed (a 410 only if the app did not
  register the token again after Apple's timestamp).
- 429, 500, 503, or no answer (connection refused, reset, timeout): that
  device is retried by `deliver_push` with exponential backoff.
- anything else (403 bad key, 400 bad payload): our bug or configuration,
  logged as an error and not retried (it would fail the same way again).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aioapns.common import NotificationRequest, NotificationResult, PushType
from django.conf import settings

from backend import metrics, runtime
from backend.notifications import keys, selectors
from backend.notifications.apns import ApnsSender, get_sender
from backend.notifications.models import DEVICE
from backend.notifications.payloads import Push, build_push
from backend.shards import db

log = logging.getLogger(__name__)

GONE_REASONS = frozenset(
    {"Unregistered", "ExpiredToken", "BadDeviceToken", "DeviceTokenNotForTopic"}
)
RETRY_STATUSES = frozenset({"429", "500", "503"})
# The first retry of a device waits this long; deliver_push backs off from there.
FIRST_RETRY_DELAY_MS = 1000
# Apple keeps an undeliverable push (phone off) this long.
PUSH_TTL_SECONDS = 24 * 3600
HIGH_PRIORITY = 10

# Compare-and-delete of the pending marker, then the dedup window, atomically:
# 0 = cancelled or superseded, 1 = send, 2 = a push of this subject went out
# within the window.
_CLAIM = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return 1 end
return 2
"""


class Outcome(enum.StrEnum):
    SENT = "sent"
    GONE = "gone"
    RETRY = "retry"
    FAILED = "failed"


# Every result present from the start (at 0): the failure ratio is defined
# before the first failure.
for _outcome in Outcome:
    metrics.PUSH_SENT.labels(_outcome.value)


@dataclass(frozen=True)
class Delivery:
    token: str
    recipient_id: int
    push: Push


def classify(result: NotificationResult | BaseException) -> Outcome:
    if isinstance(result, BaseException):
        # Connection refused/reset/closed, TLS errors, timeouts: Apple never
        # answered, so trying again later is safe.
        return Outcome.RETRY
    if result.is_successful:
        return Outcome.SENT
    if result.description in GONE_REASONS:
        return Outcome.GONE
    if result.status in RETRY_STATUSES:
        return Outcome.RETRY
    return Outcome.FAILED


def _request(delivery: Delivery) -> NotificationRequest:
    return NotificationRequest(
        device_token=delivery.token,
        message=delivery.push.message,
        collapse_key=delivery.push.collapse_id,
        push_type=PushType.ALERT,
        priority=HIGH_PRIORITY,
        time_to_live=PUSH_TTL_SECONDS,
    )


async def _remove_token(token: str, result: NotificationResult) -> None:
    if result.timestamp:
        # Registered again after Apple's verdict: the app has a fresh claim on it.
        unregistered_at = dt.datetime.fromtimestamp(int(result.timestamp) / 1000, tz=dt.UTC)
        rows = await db.aexecute(
            db.DIRECTORY,
            f'DELETE FROM "{DEVICE}" WHERE token = %s AND registered_at <= %s RETURNING token',
            [token, unregistered_at],
        )
    else:
        rows = await db.aexecute(
            db.DIRECTORY, f'DELETE FROM "{DEVICE}" WHERE token = %s RETURNING token', [token]
        )
    log.info("APNs said %s: removed device token %s…: %d", result.description, token[:8], len(rows))


async def deliver(sender: ApnsSender, deliveries: Sequence[Delivery]) -> list[Delivery]:
    """Send each delivery once; returns those to try again later."""
    if not deliveries:
        return []
    results = await sender.send([_request(d) for d in deliveries])
    sent: list[str] = []
    again: list[Delivery] = []
    for delivery, result in zip(deliveries, results, strict=True):
        outcome = classify(result)
        # A bad key or certificate shows as every push failing (403s) or
        # retrying (TLS errors): the alert rules watch the ratio.
        metrics.PUSH_SENT.labels(outcome.value).inc()
        if outcome is Outcome.SENT:
            sent.append(delivery.token)
        elif outcome is Outcome.GONE:
            assert isinstance(result, NotificationResult)
            await _remove_token(delivery.token, result)
        elif outcome is Outcome.RETRY:
            log.warning("push to %s… will be retried: %r", delivery.token[:8], _describe(result))
            again.append(delivery)
        else:
            log.error("push to %s… rejected: %r", delivery.token[:8], _describe(result))
    if sent:
        await db.aexecute(
            db.DIRECTORY,
            f'UPDATE "{DEVICE}" SET last_used_at = now() WHERE token = ANY(%s)',
            [sent],
        )
    return again


def _describe(result: NotificationResult | BaseException) -> Any:
    if isinstance(result, BaseException):
        return result
    return (result.status, result.description)


async def _next_badges(recipient_ids: Sequence[int]) -> dict[int, int]:
    pipe = runtime.redis().pipeline(transaction=False)
    for r in recipient_ids:
        pipe.incr(keys.badge_key(r))
        pipe.expire(keys.badge_key(r), keys.BADGE_TTL_SECONDS)
    counts = (await pipe.execute())[::2]
    return {r: int(c) for r, c in zip(recipient_ids, counts, strict=True)}


async def ado_send_push(
    *, kind: str, recipient_id: int, actor_id: int, photo_id: int | None, nonce: str
) -> list[Delivery]:
    """Send one scheduled push (from `tasks.schedule`) to all of the recipient's
    devices; returns the deliveries to try again later."""
    sender = get_sender()
    if sender is None:
        return []
    # Reads first: if one fails, the job's retry still finds its pending marker.
    tokens = (await selectors.get_device_tokens(account_ids=[recipient_id])).get(recipient_id)
    username = await selectors.get_username(account_id=actor_id)
    if not tokens or username is None:
        return []
    claim = await runtime.redis().eval(  # type: ignore[misc]
        _CLAIM,
        2,
        keys.pending_key(kind, recipient_id, actor_id, photo_id),
        keys.dedup_key(kind, recipient_id, actor_id, photo_id),
        nonce,
        str(settings.PUSH_DEDUP_SECONDS),
    )
    if claim != 1:
        log.info(
            "push %s to %s dropped (%s)", kind, recipient_id, "dedup" if claim else "cancelled"
        )
        return []
    badge = (await _next_badges([recipient_id]))[recipient_id]
    push = build_push(
        kind=kind, actor_id=actor_id, actor_username=username, photo_id=photo_id, badge=badge
    )
    return await deliver(sender, [Delivery(t, recipient_id, push) for t in tokens])


async def ado_send_post_pushes(
    *, actor_id: int, photo_id: int, recipient_ids: Sequence[int]
) -> list[Delivery]:
    """Push "new photo" to a batch of subscribers: one query, one concurrent
    send; returns the deliveries to try again later."""
    sender = get_sender()
    if sender is None:
        return []
    username = await selectors.get_username(account_id=actor_id)
    if username is None:
        return []
    # A redelivered batch (worker crash) must not push twice.
    pipe = runtime.redis().pipeline(transaction=False)
    for r in recipient_ids:
        pipe.set(
            keys.dedup_key("post", r, actor_id, photo_id),
            "1",
            nx=True,
            ex=settings.PUSH_DEDUP_SECONDS,
        )
    fresh = [r for r, ok in zip(recipient_ids, await pipe.execute(), strict=True) if ok]
    tokens = await selectors.get_device_tokens(account_ids=fresh)
    badges = await _next_badges(list(tokens))
    deliveries = [
        Delivery(
            token,
            recipient_id,
            build_push(
                kind="post",
                actor_id=actor_id,
                actor_username=username,
                photo_id=photo_id,
                badge=badges[recipient_id],
            ),
        )
        for recipient_id, device_tokens in tokens.items()
        for token in device_tokens
    ]
    return await deliver(sender, deliveries)


async def ado_deliver_retry(
    *, token: str, recipient_id: int, message: dict[str, Any], collapse_id: str
) -> bool:
    """One more attempt at one device; False when it should be tried again."""
    sender = get_sender()
    if sender is None:
        return True
    if await selectors.get_device_owner(token=token) != recipient_id:
        return True  # unregistered, or now another account's phone: not theirs to see
    push = Push(message=message, collapse_id=collapse_id)
    return not await deliver(sender, [Delivery(token, recipient_id, push)])
