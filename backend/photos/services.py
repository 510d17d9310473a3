"""Writes for photos: upload (validate, render sizes, store, record) and delete."""

from __future__ import annotations

from typing import Any

import psycopg

from backend.aftercommit import after_commit
from backend.errors import Forbidden, NotFound
from backend.photos import photo_map
from backend.photos.cache import ainvalidate_photos
from backend.photos.images import check_and_process
from backend.photos.models import CAPTION_MAX_LENGTH
from backend.photos.selectors import PHOTO_TABLE, PhotoRecord
from backend.photos.storage import adelete_objects, asave_renditions, new_key, object_names
from backend.photos.tasks import sync_photo_visibility
from backend.queue import enqueue
from backend.runtime import in_thread
from backend.shards import routing
from backend.shards.db import Row
from backend.shards.ids import shard_of
from backend.social import feeds
from backend.social.cache import ainvalidate_users
from backend.social.models import Activity, Comment, Like, Profile
from backend.validation import check_text

PROFILE_TABLE = Profile._meta.db_table


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

    async def insert(conn: psycopg.AsyncConnection[Any], schema: str) -> tuple[PhotoRecord, Row]:
        cur = await conn.execute(
            f'INSERT INTO {schema}."{PHOTO_TABLE}" '
            "(owner_id, caption, width, height, blurhash, key) "
            "VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
            [owner_id, caption, image.width, image.height, image.blurhash, key],
        )
        row = await cur.fetchone()
        assert row is not None
        # Private objects make the account's URLs presigned until the
        # visibility job has made them public (when the owner is public).
        cur = await conn.execute(
            f'UPDATE {schema}."{PROFILE_TABLE}" SET photo_count = photo_count + 1, '
            "photos_public = photos_public AND %s "
            "WHERE user_id = %s RETURNING follower_count, is_private",
            [public, owner_id],
        )
        profile = await cur.fetchone()
        if profile is None:
            raise NotFound("no such user")
        return PhotoRecord.from_row(row), profile

    try:
        photo, profile = await routing.awrite(shard_of(owner_id), insert)
    except BaseException:
        await adelete_objects(object_names(key))
        raise
    follower_count = int(profile["follower_count"])
    if public == bool(profile["is_private"]):
        # The privacy flipped while the objects were written; the job the flip
        # queued may not have seen this photo yet.
        await after_commit(
            enqueue(sync_photo_visibility.message(owner_id)), "photo visibility sync"
        )
    await after_commit(photo_map.aset_owner(photo.id, owner_id), "photo map write")
    await after_commit(ainvalidate_users([owner_id]), "user cache invalidation")
    await after_commit(
        feeds.ado_publish(photo_id=photo.id, owner_id=owner_id, follower_count=follower_count),
        "feed publish",
    )
    return photo


async def do_delete_photo(*, viewer_id: int, photo_id: int) -> bool:
    """Delete the viewer's photo with its likes, comments and activity, then its objects."""

    async def delete(conn: psycopg.AsyncConnection[Any], schema: str) -> str:
        cur = await conn.execute(
            f'SELECT owner_id, key FROM {schema}."{PHOTO_TABLE}" WHERE id = %s FOR UPDATE',
            [photo_id],
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound("no such photo")
        if int(row["owner_id"]) != viewer_id:
            raise Forbidden("only the owner can delete a photo")
        for model in (Like, Comment, Activity):
            await conn.execute(
                f'DELETE FROM {schema}."{model._meta.db_table}" WHERE photo_id = %s', [photo_id]
            )
        await conn.execute(f'DELETE FROM {schema}."{PHOTO_TABLE}" WHERE id = %s', [photo_id])
        await conn.execute(
            f'UPDATE {schema}."{PROFILE_TABLE}" SET photo_count = photo_count - 1 '
            "WHERE user_id = %s",
            [viewer_id],
        )
        return str(row["key"])

    key = await routing.awrite(shard_of(photo_id), delete)
    await after_commit(adelete_objects(object_names(key)), "object delete")
    await after_commit(photo_map.aremove(photo_id), "photo map remove")
    await after_commit(ainvalidate_photos([photo_id]), "photo cache invalidation")
    await after_commit(ainvalidate_users([viewer_id]), "user cache invalidation")
    return True


async def _photos_public(owner_id: int) -> bool:
    rows = await routing.aquery(
        shard_of(owner_id),
        f'SELECT is_private, photos_public FROM {{schema}}."{PROFILE_TABLE}" WHERE user_id = %s',
        [owner_id],
    )
    if not rows:
        raise NotFound("no such user")
    return not rows[0]["is_private"] and bool(rows[0]["photos_public"])
