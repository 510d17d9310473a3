"""Profile edits."""

from __future__ import annotations

from typing import Any

import psycopg

from backend.errors import InvalidInput, NotFound
from backend.shards import routing
from backend.shards.ids import shard_of
from backend.social.cache import ainvalidate_users
from backend.social.models import Profile

FULL_NAME_MAX = Profile._meta.get_field("full_name").max_length or 64
BIO_MAX = Profile._meta.get_field("bio").max_length or 300


def check_text(value: str, *, what: str, max_length: int) -> str:
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInput(f"{what} must be at most {max_length} characters")
    if "\x00" in value:
        raise InvalidInput(f"{what} must not contain NUL characters")
    return value


async def do_update_profile(
    *, viewer_id: int, full_name: str | None, bio: str | None, is_private: bool | None
) -> None:
    """Change the given fields of the viewer's profile (None leaves a field as it is)."""
    changes: dict[str, Any] = {}
    if full_name is not None:
        changes["full_name"] = check_text(full_name, what="fullName", max_length=FULL_NAME_MAX)
    if bio is not None:
        changes["bio"] = check_text(bio, what="bio", max_length=BIO_MAX)
    if is_private is not None:
        changes["is_private"] = is_private
    if not changes:
        return
    assignments = ", ".join(f"{column} = %s" for column in changes)

    async def update(conn: psycopg.AsyncConnection[Any], schema: str) -> None:
        cur = await conn.execute(
            f'UPDATE {schema}."{Profile._meta.db_table}" SET {assignments} WHERE user_id = %s',
            [*changes.values(), viewer_id],
        )
        if cur.rowcount != 1:
            raise NotFound("no such user")

    await routing.awrite(shard_of(viewer_id), update)
    await ainvalidate_users([viewer_id])
