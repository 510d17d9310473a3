"""Loaders for users."""

from __future__ import annotations

from backend.graph.loaders import BaseLoader
from backend.social.selectors import UserRecord, get_users_by_ids


class UserByIdLoader(BaseLoader[int, UserRecord | None]):
    async def batch_load(self, keys: list[int]) -> list[UserRecord | None]:
        return await get_users_by_ids(keys)
