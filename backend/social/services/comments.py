"""Comments: on the photo's shard, counted in the photo row's transaction."""

from __future__ import annotations

from typing import Any

import psycopg

from backend import metrics
from backend.aftercommit import after_commit
from backend.errors import Forbidden, NotFound
from backend.photos.cache import ainvalidate_photos
from backend.photos.counters import adjust_photo_counter
from backend.photos.models import PHOTO
from backend.photos.selectors import PhotoRecord
from backend.shards import routing
from backend.shards.ids import shard_of
from backend.social.effects import record_photo_event
from backend.social.events import COMMENT_DELETED, COMMENTED
from backend.social.models import ACTIVITY, COMMENT, ActivityKind, Comment
from backend.social.selectors.access import access_photo_owner
from backend.social.selectors.comments import CommentRecord
from backend.validation import check_text

COMMENT_MAX_LENGTH = Comment._meta.get_field("text").max_length or 1000


async def do_add_comment(
    *, viewer_id: int, photo_id: int, text: str
) -> tuple[CommentRecord, PhotoRecord]:
    """Comment on a photo the viewer may see; returns the comment and the photo
    as the same transaction left it (its comment count included)."""
    text = check_text(text, what="a comment", max_length=COMMENT_MAX_LENGTH, required=True)
    owner_id = await access_photo_owner(viewer_id=viewer_id, photo_id=photo_id)

    async def add(
        conn: psycopg.AsyncConnection[Any], schema: str
    ) -> tuple[CommentRecord, PhotoRecord]:
        cur = await conn.execute(
            f'INSERT INTO {schema}."{COMMENT}" (photo_id, author_id, text) VALUES (%s, %s, %s) '
            "RETURNING *",
            [photo_id, viewer_id, text],
        )
        row = await cur.fetchone()
        assert row is not None
        comment = CommentRecord.from_row(row)
        if owner_id != viewer_id:
            await conn.execute(
                f'INSERT INTO {schema}."{ACTIVITY}" '
                "(user_id, kind, actor_id, photo_id, comment_id) VALUES (%s, %s, %s, %s, %s)",
                [owner_id, ActivityKind.COMMENT.value, viewer_id, photo_id, comment.id],
            )
        photo = await adjust_photo_counter(conn, schema, photo_id, column="comment_count", delta=+1)
        await record_photo_event(conn, COMMENTED, photo, actor_id=viewer_id, comment_id=comment.id)
        return comment, photo

    comment, photo = await routing.awrite(shard_of(photo_id), add)
    metrics.COMMENTS.inc()
    await after_commit(ainvalidate_photos([photo_id]), "photo cache invalidation")
    return comment, photo


async def do_delete_comment(*, viewer_id: int, comment_id: int) -> PhotoRecord:
    """Delete a comment: its author or the photo's owner may. Returns the photo as
    the same transaction left it (its comment count included)."""

    async def delete(conn: psycopg.AsyncConnection[Any], schema: str) -> PhotoRecord:
        cur = await conn.execute(
            f'SELECT c.author_id, c.photo_id, p.owner_id FROM {schema}."{COMMENT}" c '
            f'JOIN {schema}."{PHOTO}" p ON p.id = c.photo_id WHERE c.id = %s FOR UPDATE',
            [comment_id],
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound("no such comment")
        if viewer_id not in (int(row["author_id"]), int(row["owner_id"])):
            raise Forbidden("only the comment's author or the photo's owner can delete it")
        await conn.execute(f'DELETE FROM {schema}."{COMMENT}" WHERE id = %s', [comment_id])
        await conn.execute(
            f'DELETE FROM {schema}."{ACTIVITY}" WHERE user_id = %s AND comment_id = %s',
            [row["owner_id"], comment_id],
        )
        photo = await adjust_photo_counter(
            conn, schema, int(row["photo_id"]), column="comment_count", delta=-1
        )
        await record_photo_event(
            conn, COMMENT_DELETED, photo, actor_id=viewer_id, comment_id=comment_id
        )
        return photo

    photo = await routing.awrite(shard_of(comment_id), delete)
    await after_commit(ainvalidate_photos([photo.id]), "photo cache invalidation")
    return photo
