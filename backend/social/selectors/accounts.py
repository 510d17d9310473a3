"""Reads for accounts and profiles."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models.functions import Lower

from backend.shards import routing
from backend.social.models import Account, AuthToken, Profile


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


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def get_account_id_for_token(token: str) -> int | None:
    """The user ID a bearer token signs in as, or None if unknown or revoked."""
    row = await (
        AuthToken.objects.filter(key_hash=token_hash(token)).values_list("account_id", flat=True)
    ).afirst()
    return int(row) if row is not None else None


async def get_account_by_username(username: str) -> Account | None:
    return await (
        Account.objects.annotate(username_lower=Lower("username"))
        .filter(username_lower=username.lower())
        .afirst()
    )


async def get_accounts_by_ids(ids: Iterable[int]) -> dict[int, Account]:
    return {a.id: a async for a in Account.objects.filter(id__in=list(ids))}


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
            )
        )
    return out
