"""Reads for photos."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from backend import caching
from backend.photos.cache import PHOTO_TTL, photo_key
from backend.photos.models import PHOTO, Photo
from backend.shards import replicas, routing
from backend.shards.db import Row
from backend.shards.ids import MAX_ID, shard_of


@dataclass(frozen=True)
class PhotoRecord:
    id: int
    owner_id: int
    caption: str
    width: int
    height: int
    blurhash: str
    key: str
    like_count: int
    comment_count: int
    created_at: datetime
    has_square: bool = False

    @classmethod
    def from_row(cls, row: Row) -> PhotoRecord:
        return cls(
            id=int(row["id"]),
            owner_id=int(row["owner_id"]),
            caption=row["caption"],
            width=row["width"],
            height=row["height"],
            blurhash=row["blurhash"],
            key=row["key"],
            like_count=row["like_count"],
            comment_count=row["comment_count"],
            created_at=row["created_at"],
            has_square=bool(row.get("has_square", False)),
        )


async def get_photos_by_ids(ids: Iterable[int]) -> dict[int, PhotoRecord]:
    """Photos by ID: one statement per physical server."""
    rows = await routing.afetch_many(Photo, "id", ids)
    return {int(r["id"]): PhotoRecord.from_row(r) for r in rows}


async def get_photos_of_user(
    *, owner_id: int, before: int | None, limit: int, stale_ok: bool = True
) -> list[PhotoRecord]:
    """The user's photos, newest first, older than `before` (a photo ID).
    `stale_ok=False`: never from a hot standby (the owner's own list)."""
    rows = await routing.aquery(
        shard_of(owner_id),
        f'SELECT * FROM {{schema}}."{PHOTO}" WHERE owner_id = %s AND id < %s '
        "ORDER BY id DESC LIMIT %s",
        [owner_id, before if before is not None else MAX_ID, limit],
        kind=replicas.PHOTO_LISTS if stale_ok else None,
    )
    return [PhotoRecord.from_row(r) for r in rows]


async def get_photos_by_ids_partial(
    ids: Iterable[int],
) -> tuple[dict[int, PhotoRecord], dict[int, BaseException]]:
    """Photos by ID from the servers that answer, and the IDs whose server did
    not. Rows may come from the hot standbys (replicas.PHOTO_LISTS) where the
    caller allows."""
    part = await routing.afetch_many_partial(Photo, "id", ids, kind=replicas.PHOTO_LISTS)
    return {int(r["id"]): PhotoRecord.from_row(r) for r in part.rows}, part.unavailable


async def get_photos_cached_partial(
    ids: list[int],
) -> tuple[dict[int, PhotoRecord], dict[int, BaseException]]:
    """`get_photos_cached` that degrades: a server that is down costs only its
    uncached photos, which come back as unavailable (with the error)."""
    return await caching.aget_through_partial(
        ids, key=photo_key, load=get_photos_by_ids_partial, ttl=PHOTO_TTL
    )


async def get_photos_cached(ids: list[int]) -> dict[int, PhotoRecord]:
    """Photos by ID through Memcached (one get_many, then the shards for misses)."""

    return await caching.aget_through(ids, key=photo_key, load=get_photos_by_ids, ttl=PHOTO_TTL)
