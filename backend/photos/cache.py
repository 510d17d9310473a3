"""Cache keys of the photos domain, and their invalidation."""

from __future__ import annotations

from collections.abc import Iterable

from backend import caching

PHOTO_TTL = 60  # like and comment counts change often


def photo_key(photo_id: int) -> str:
    return f"photo:v2:{photo_id}"


async def ainvalidate_photos(photo_ids: Iterable[int]) -> None:
    await caching.adelete_many(photo_key(i) for i in photo_ids)
