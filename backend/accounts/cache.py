"""Cache keys of the social domain, and their invalidation."""

from __future__ import annotations

from collections.abc import Iterable

from backend import caching

USER_TTL = 300


def user_key(user_id: int) -> str:
    return f"user:v2:{user_id}"


async def ainvalidate_users(user_ids: Iterable[int]) -> None:
    await caching.adelete_many(user_key(i) for i in user_ids)
