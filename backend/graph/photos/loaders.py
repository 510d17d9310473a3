"""Loaders for photos."""

from __future__ import annotations

from backend.errors import Unavailable
from backend.graph.context import BaseLoader
from backend.photos.selectors import PhotoRecord, get_photos_cached_partial


class PhotoByIdLoader(BaseLoader[int, PhotoRecord | None]):
    """A photo whose server is down (and which is not cached) raises Unavailable
    for itself; the other keys of the batch answer."""

    async def batch_load(self, keys: list[int]) -> list[PhotoRecord | None]:
        found, unavailable = await get_photos_cached_partial(keys)
        return [Unavailable() if k in unavailable else found.get(k) for k in keys]  # type: ignore[misc]
