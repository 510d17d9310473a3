"""Writes for photos: upload (validate, render sizes, store, record) and delete.

Each write records its event (photos/events.py) in its own transaction; what
follows from it elsewhere (feeds, pushes, the photo map, the objects of a
deleted photo, its likes and comments) is done by the event's consumers.
Only the caches the writer reads next are cleared here too, at once.
"""

from __future__ import annotations

from typing import Any

import psycopg

from backend import metrics
from backend.accounts.cache import ainvalidate_users
from backend.accounts.events import PRIVACY_CHANGED
from backend.accounts.models import PROFILE
from backend.aftercommit import after_commit
from backend.errors import Forbidden, NotFound
from backend.photos import photo_map
from backend.photos.cache import ainvalidate_photos
from backend.photos.events import PHOTO_DELETED, PHOTO_POSTED
from backend.photos.images import Size, check_and_process
from backend.photos.models import CAPTION_MAX_LENGTH, PHOTO
from backend.photos.selectors import PhotoRecord
from backend.photos.storage import adelete_objects, asave_renditions, new_key, object_names
from backend.runtime import in_thread
from backend.shards import outbox, routing
from backend.shards.ids import shard_of
from backend.validation import check_text


async def do_upload_photo(*, owner_id: int, data: bytes, caption: str | None) -> PhotoRecord:
    """Validate an uploaded image, store its sizes and record the photo.

    Order matters for "nothing left behind": the objects are written first and
    removed again if the row cannot be written; the row is only written once
    every object exists, so a photo never points at missing images.
    """
    caption = check_text(caption, what="caption", max_length=CAPTION_MAX_LENGTH)
    image = await in_thread(check_and_process, data)
    key = new_key()
    # Public-read only while the owner's objects are (Profile.photos_public).
    public = await _photos_public(owner_id)
    await asave_renditions(key, image.renditions.values(), public=public)

    async def insert(conn: psycopg.AsyncConnection[Any], schema: str) -> PhotoRecord:
        cur = await conn.execute(
            f'INSERT INTO {schema}."{PHOTO}" '
            "(owner_id, caption, width, height, blurhash, key, has_square) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
            [
                owner_id,
                caption,
                image.width,
                image.height,
                image.blurhash,
                key,
                Size.SQUARE in image.renditions,
            ],
        )
        row = await cur.fetchone()
        assert row is not None
        # Private objects make the account's URLs presigned until the
        # visibility job has made them public (when the owner is public).
        cur = await conn.execute(
            f'UPDATE {schema}."{PROFILE}" SET photo_count = photo_count + 1, '
            "photos_public = photos_public AND %s "
            "WHERE user_id = %s RETURNING is_private, follower_count",
            [public, owner_id],
        )
        profile = await cur.fetchone()
        if profile is None:
            raise NotFound("no such user")
        logical = shard_of(owner_id)
        # The follower count rides along: the feeds' consumer decides fan-out
        # or pull with it, without reading the owner again.
        await outbox.record(
            conn,
            logical,
            PHOTO_POSTED,
            photo_id=int(row["id"]),
            owner_id=owner_id,
            follower_count=int(profile["follower_count"]),
        )
        if public == bool(profile["is_private"]):
            # The privacy flipped while the objects were written; the sync the
            # flip started may not have seen this photo: one more.
            await outbox.record(
                conn,
                logical,
                PRIVACY_CHANGED,
                user_id=owner_id,
                is_private=bool(profile["is_private"]),
            )
        return PhotoRecord.from_row(row)

    try:
        photo = await routing.awrite(shard_of(owner_id), insert)
    except BaseException:
        await adelete_objects(object_names(key))
        raise
    metrics.PHOTOS_UPLOADED.inc()
    await after_commit(ainvalidate_users([owner_id]), "user cache invalidation")
    return photo


async def do_delete_photo(*, viewer_id: int, photo_id: int) -> bool:
    """Delete the viewer's photo. Its likes, comments, activity and objects go
    by the PHOTO_DELETED event's consumers (photos/tasks.py, social/tasks.py)."""

    async def delete(conn: psycopg.AsyncConnection[Any], schema: str) -> str:
        cur = await conn.execute(
            f'SELECT owner_id, key FROM {schema}."{PHOTO}" WHERE id = %s FOR UPDATE',
            [photo_id],
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound("no such photo")
        if int(row["owner_id"]) != viewer_id:
            raise Forbidden("only the owner can delete a photo")
        await conn.execute(f'DELETE FROM {schema}."{PHOTO}" WHERE id = %s', [photo_id])
        await conn.execute(
            f'UPDATE {schema}."{PROFILE}" SET photo_count = photo_count - 1 WHERE user_id = %s',
            [viewer_id],
        )
        await outbox.record(
            conn,
            shard_of(photo_id),
            PHOTO_DELETED,
            photo_id=photo_id,
            owner_id=viewer_id,
            key=str(row["key"]),
        )
        return str(row["key"])

    await routing.awrite(shard_of(photo_id), delete)
    await after_commit(ainvalidate_photos([photo_id]), "photo cache invalidation")
    await after_commit(ainvalidate_users([viewer_id]), "user cache invalidation")
    return True


async def _photos_public(owner_id: int) -> bool:
    rows = await routing.aquery(
        shard_of(owner_id),
        f'SELECT is_private, photos_public FROM {{schema}}."{PROFILE}" WHERE user_id = %s',
        [owner_id],
    )
    if not rows:
        raise NotFound("no such user")
    return not rows[0]["is_private"] and bool(rows[0]["photos_public"])


async def ado_after_photo_posted(*, photo_id: int, owner_id: int) -> None:
    """PHOTO_POSTED's consequences in this domain (idempotent)."""
    await photo_map.aset_owner(photo_id, owner_id)
    await ainvalidate_users([owner_id])


async def ado_after_photo_deleted(*, photo_id: int, owner_id: int, key: str) -> None:
    """PHOTO_DELETED's consequences in this domain (idempotent): the objects,
    the map entry and the cached copies go."""
    await adelete_objects(object_names(key))
    await photo_map.aremove(photo_id)
    await ainvalidate_photos([photo_id])
    await ainvalidate_users([owner_id])
