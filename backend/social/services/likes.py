"""Likes: idempotent, counted exactly in the photo row's transaction, which
also records LIKED or UNLIKED (pushes and caches follow from those)."""

from __future__ import annotations

from typing import Any

import psycopg

from backend import metrics
from backend.aftercommit import after_commit
from backend.errors import NotFound
from backend.photos.cache import ainvalidate_photos
from backend.photos.counters import adjust_photo_counter
from backend.photos.models import PHOTO
from backend.photos.selectors import PhotoRecord
from backend.shards import routing
from backend.shards.ids import shard_of
from backend.social.effects import record_photo_event
from backend.social.events import LIKED, UNLIKED
from backend.social.models import ACTIVITY, LIKE, ActivityKind
from backend.social.selectors.access import access_photo_owner


async def _current(conn: psycopg.AsyncConnection[Any], schema: str, photo_id: int) -> PhotoRecord:
    cur = await conn.execute(f'SELECT * FROM {schema}."{PHOTO}" WHERE id = %s', [photo_id])
    row = await cur.fetchone()
    if row is None:
        raise NotFound("no such photo")
    return PhotoRecord.from_row(row)


async def do_like_photo(*, viewer_id: int, photo_id: int) -> PhotoRecord:
    """Like a photo (liking twice is the same as once); returns the photo as it is now."""
    owner_id = await access_photo_owner(viewer_id=viewer_id, photo_id=photo_id)

    async def like(conn: psycopg.AsyncConnection[Any], schema: str) -> tuple[bool, PhotoRecord]:
        cur = await conn.execute(
            f'INSERT INTO {schema}."{LIKE}" (photo_id, user_id) VALUES (%s, %s) '
            "ON CONFLICT DO NOTHING RETURNING photo_id",
            [photo_id, viewer_id],
        )
        if await cur.fetchone() is None:
            return False, await _current(conn, schema, photo_id)
        if owner_id != viewer_id:
            await conn.execute(
                f'INSERT INTO {schema}."{ACTIVITY}" (user_id, kind, actor_id, photo_id) '
                "VALUES (%s, %s, %s, %s)",
                [owner_id, ActivityKind.LIKE.value, viewer_id, photo_id],
            )
        photo = await adjust_photo_counter(conn, schema, photo_id, column="like_count", delta=+1)
        await record_photo_event(conn, LIKED, photo, actor_id=viewer_id)
        return True, photo

    changed, record = await routing.awrite(shard_of(photo_id), like)
    if changed:
        metrics.LIKES.inc()
        await after_commit(ainvalidate_photos([photo_id]), "photo cache invalidation")
    return record


async def do_unlike_photo(*, viewer_id: int, photo_id: int) -> PhotoRecord:
    """Take a like back (a no-op when there is none); returns the photo as it is now."""
    owner_id = await access_photo_owner(viewer_id=viewer_id, photo_id=photo_id)

    async def unlike(conn: psycopg.AsyncConnection[Any], schema: str) -> tuple[bool, PhotoRecord]:
        cur = await conn.execute(
            f'DELETE FROM {schema}."{LIKE}" WHERE photo_id = %s AND user_id = %s '
            "RETURNING photo_id",
            [photo_id, viewer_id],
        )
        if await cur.fetchone() is None:
            return False, await _current(conn, schema, photo_id)
        await conn.execute(
            f'DELETE FROM {schema}."{ACTIVITY}" '
            "WHERE user_id = %s AND kind = %s AND actor_id = %s AND photo_id = %s",
            [owner_id, ActivityKind.LIKE.value, viewer_id, photo_id],
        )
        photo = await adjust_photo_counter(conn, schema, photo_id, column="like_count", delta=-1)
        await record_photo_event(conn, UNLIKED, photo, actor_id=viewer_id)
        return True, photo

    changed, record = await routing.awrite(shard_of(photo_id), unlike)
    if changed:
        await after_commit(ainvalidate_photos([photo_id]), "photo cache invalidation")
    return record
