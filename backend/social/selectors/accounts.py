"""Reads for accounts and profiles."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from backend.shards import db, routing
from backend.social.models import Account, AuthToken, Profile

ACCOUNT = Account._meta.db_table
TOKEN = AuthToken._meta.db_table


@dataclass(frozen=True)
class AccountRecord:
    """A directory account (the sign-in identity; `id` is the user ID)."""

    id: int
    username: str
    email: str
    password: str
    created_at: datetime


@dataclass(frozen=True)
class UserRecord:
    """A user as the API shows it: directory account joined with its profile."""

    id: int
    username: str
    full_name: str
    bio: str
    is_private: bool
    photo_count: int
    follower_count: int
    following_count: int
    # Every photo object is public-read (see Profile.photos_public).
    photos_public: bool

    @property
    def photos_signed(self) -> bool:
        """Photo URLs must be presigned: the account is private, or its objects
        are not all public-read yet (just after it turned public)."""
        return self.is_private or not self.photos_public


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def get_account_id_for_token(token: str) -> int | None:
    """The user ID a bearer token signs in as, or None if unknown or revoked.

    Straight from the directory on every request: a revoked token is refused
    at once (no cache to lag), and it is one indexed read on the pool.
    """
    rows = await db.aexecute(
        db.DIRECTORY,
        f'SELECT account_id FROM "{TOKEN}" WHERE key_hash = %s',
        [token_hash(token)],
    )
    return int(rows[0]["account_id"]) if rows else None


async def get_account_by_username(username: str) -> AccountRecord | None:
    rows = await db.aexecute(
        db.DIRECTORY,
        f'SELECT id, username, email, password, created_at FROM "{ACCOUNT}" '
        "WHERE lower(username) = lower(%s)",
        [username],
    )
    return AccountRecord(**rows[0]) if rows else None


async def get_accounts_by_ids(ids: Iterable[int]) -> dict[int, AccountRecord]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await db.aexecute(
        db.DIRECTORY,
        f'SELECT id, username, email, password, created_at FROM "{ACCOUNT}" WHERE id = ANY(%s)',
        [wanted],
    )
    return {int(r["id"]): AccountRecord(**r) for r in rows}


async def get_all_account_ids(*, after: int = 0, limit: int = 1000) -> list[int]:
    """Account IDs in order, a page at a time (for commands that visit everyone)."""
    rows = await db.aexecute(
        db.DIRECTORY,
        f'SELECT id FROM "{ACCOUNT}" WHERE id > %s ORDER BY id LIMIT %s',
        [after, limit],
    )
    return [int(r["id"]) for r in rows]


async def get_profiles_by_user_ids(ids: Iterable[int]) -> dict[int, Profile]:
    """Profiles on their users' logical shards: one statement per physical server."""
    rows = await routing.afetch_many(Profile, "user_id", ids)
    return {int(r["user_id"]): Profile(**r) for r in rows}


async def get_users_by_ids(ids: list[int]) -> list[UserRecord | None]:
    """Users in the order of `ids` (None where there is no such user)."""
    accounts = await get_accounts_by_ids(ids)
    profiles = await get_profiles_by_user_ids(accounts)
    out: list[UserRecord | None] = []
    for user_id in ids:
        account, profile = accounts.get(user_id), profiles.get(user_id)
        if account is None or profile is None:
            out.append(None)
            continue
        out.append(
            UserRecord(
                id=account.id,
                username=account.username,
                full_name=profile.full_name,
                bio=profile.bio,
                is_private=profile.is_private,
                photo_count=profile.photo_count,
                follower_count=profile.follower_count,
                following_count=profile.following_count,
                photos_public=profile.photos_public,
            )
        )
    return out
