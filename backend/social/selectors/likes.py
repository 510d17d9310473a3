"""Reads of a photo's likes (on the photo's shard)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.shards import routing
from backend.shards.ids import MAX_ID, shard_of
from backend.social.models import LIKE


@dataclass(frozen=True)
class LikeRecord:
    id: int  # the like's own time-sorted ID: the page cursor
    user_id: int


async def get_likers(*, photo_id: int, before: int | None, limit: int) -> list[LikeRecord]:
    """A page of a photo's likes, most recent first, older than `before` (a like ID).

    The caller has shown the photo to the viewer, so its likers are the
    viewer's to see too.
    """
    rows = await routing.aquery(
        shard_of(photo_id),
        f'SELECT id, user_id FROM {{schema}}."{LIKE}" WHERE photo_id = %s AND id < %s '
        "ORDER BY id DESC LIMIT %s",
        [photo_id, before if before is not None else MAX_ID, limit],
    )
    return [LikeRecord(id=int(r["id"]), user_id=int(r["user_id"])) for r in rows]
