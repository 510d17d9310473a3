"""Reads of the notifications domain (directory database, sync: used by actors)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from backend.notifications.models import DeviceToken, PostNotificationOptIn
from backend.social.models import Account


def get_device_tokens(*, account_ids: Iterable[int]) -> dict[int, list[str]]:
    """Device tokens by account, for the given accounts (one statement)."""
    found: dict[int, list[str]] = defaultdict(list)
    rows = DeviceToken.objects.filter(account_id__in=list(account_ids)).values_list(
        "account_id", "token"
    )
    for account_id, token in rows:
        found[account_id].append(token)
    return dict(found)


def get_device_owner(*, token: str) -> int | None:
    """The account a device token is registered to now, if any."""
    row = DeviceToken.objects.filter(token=token).values_list("account_id", flat=True).first()
    return int(row) if row is not None else None


def get_username(*, account_id: int) -> str | None:
    return Account.objects.filter(id=account_id).values_list("username", flat=True).first()


def get_post_subscribers(*, followed_id: int, among: Iterable[int]) -> list[int]:
    """Those of `among` who asked for a push when `followed_id` posts."""
    return list(
        PostNotificationOptIn.objects.filter(
            followed_id=followed_id, account_id__in=list(among)
        ).values_list("account_id", flat=True)
    )


def get_all_post_subscribers(*, followed_id: int) -> set[int]:
    """Everyone who asked for a push when `followed_id` posts (far fewer than its followers)."""
    return set(
        PostNotificationOptIn.objects.filter(followed_id=followed_id).values_list(
            "account_id", flat=True
        )
    )


async def aget_post_notifications_enabled(*, account_id: int, followed_id: int) -> bool:
    return await PostNotificationOptIn.objects.filter(
        account_id=account_id, followed_id=followed_id
    ).aexists()
