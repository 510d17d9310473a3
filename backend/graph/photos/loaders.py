"""Loaders for photos."""

from __future__ import annotations

from backend.graph.context import BaseLoader
from backend.photos.selectors import PhotoRecord, get_photos_cached


class PhotoByIdLoader(BaseLoader[int, PhotoRecord | None]):
    async def batch_load(self, keys: list[int]) -> list[PhotoRecord | None]:
        found = await get_photos_cached(keys)
        return [found.get(k) for k in keys]
