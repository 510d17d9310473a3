"""Profile edits."""

from __future__ import annotations

from typing import Any

import psycopg

from backend.aftercommit import after_commit
from backend.errors import NotFound
from backend.photos.tasks import sync_photo_visibility
from backend.queue import enqueue
from backend.shards import routing
from backend.shards.ids import shard_of
from backend.social.cache import ainvalidate_users
from backend.social.models import Profile
from backend.validation import check_text

FULL_NAME_MAX = Profile._meta.get_field("full_name").max_length or 64
BIO_MAX = Profile._meta.get_field("bio").max_length or 300
# The guard job re-checks the objects' ACLs this long after a privacy change.
VISIBILITY_GUARD_DELAY_MS = 30_000


async def do_update_profile(
    *, viewer_id: int, full_name: str | None, bio: str | None, is_private: bool | None
) -> None:
    """Change the given fields of the viewer's profile (None leaves a field as it is).

    Turning private takes effect for photo URLs at once (presigned from the
    next read); the objects' ACLs follow in a job (backend/photos/visibility.py).
    """
    changes: dict[str, Any] = {}
    if full_name is not None:
        changes["full_name"] = check_text(full_name, what="fullName", max_length=FULL_NAME_MAX)
    if bio is not None:
        changes["bio"] = check_text(bio, what="bio", max_length=BIO_MAX)
    if is_private is not None:
        changes["is_private"] = is_private
        if is_private:
            changes["photos_public"] = False
    if not changes:
        return
    assignments = ", ".join(f"{column} = %s" for column in changes)
    if is_private is not None and await _is_private(viewer_id) != is_private:
        # Should the change commit and the process die before the job is
        # queued below, this one brings the objects in line all the same.
        await after_commit(
            enqueue(sync_photo_visibility.message(viewer_id), delay=VISIBILITY_GUARD_DELAY_MS),
            "queueing the photo visibility guard",
        )

    async def update(conn: psycopg.AsyncConnection[Any], schema: str) -> bool:
        """Returns whether is_private changed."""
        cur = await conn.execute(
            f'SELECT is_private FROM {schema}."{Profile._meta.db_table}" '
            "WHERE user_id = %s FOR UPDATE",
            [viewer_id],
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound("no such user")
        await conn.execute(
            f'UPDATE {schema}."{Profile._meta.db_table}" SET {assignments} WHERE user_id = %s',
            [*changes.values(), viewer_id],
        )
        return is_private is not None and bool(row["is_private"]) != is_private

    flipped = await routing.awrite(shard_of(viewer_id), update)
    await ainvalidate_users([viewer_id])
    if flipped:
        await after_commit(
            enqueue(sync_photo_visibility.message(viewer_id)), "queueing the photo visibility sync"
        )


async def _is_private(user_id: int) -> bool | None:
    rows = await routing.aquery(
        shard_of(user_id),
        f'SELECT is_private FROM {{schema}}."{Profile._meta.db_table}" WHERE user_id = %s',
        [user_id],
    )
    return bool(rows[0]["is_private"]) if rows else None
