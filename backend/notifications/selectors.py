"""Reads of the notifications domain (directory database, over the runtime's pool)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from backend.accounts.models import ACCOUNT, TOKEN
from backend.accounts.selectors import token_ttl
from backend.notifications.models import DEVICE, OPT_IN
from backend.shards import db


async def get_device_tokens(*, account_ids: Iterable[int]) -> dict[int, list[str]]:
    """Device tokens by account, for the given accounts (one statement).

    Devices registered through a session that has expired are left out:
    that device is signed out (its row goes when the session is purged).
    """
    wanted = list(account_ids)
    if not wanted:
        return {}
    rows = await db.aexecute(
        db.DIRECTORY,
        f'SELECT d.account_id, d.token FROM "{DEVICE}" d LEFT JOIN "{TOKEN}" t '
        "ON t.key_hash = d.auth_token_id WHERE d.account_id = ANY(%s) "
        "AND (d.auth_token_id IS NULL OR t.last_used_at > now() - %s)",
        [wanted, token_ttl()],
    )
    found: dict[int, list[str]] = defaultdict(list)
    for r in rows:
        found[int(r["account_id"])].append(str(r["token"]))
    return dict(found)


async def get_device_owner(*, token: str) -> int | None:
    """The account a device token is registered to now, if any."""
    rows = await db.aexecute(
        db.DIRECTORY, f'SELECT account_id FROM "{DEVICE}" WHERE token = %s', [token]
    )
    return int(rows[0]["account_id"]) if rows else None


async def get_username(*, account_id: int) -> str | None:
    rows = await db.aexecute(
        db.DIRECTORY, f'SELECT username FROM "{ACCOUNT}" WHERE id = %s', [account_id]
    )
    return str(rows[0]["username"]) if rows else None


async def get_all_post_subscribers(*, followed_id: int) -> set[int]:
    """Everyone who asked for a push when `followed_id` posts (far fewer than its followers)."""
    rows = await db.aexecute(
        db.DIRECTORY, f'SELECT account_id FROM "{OPT_IN}" WHERE followed_id = %s', [followed_id]
    )
    return {int(r["account_id"]) for r in rows}
