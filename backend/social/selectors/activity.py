"""Reading the activity feed: likes, comments and follows concerning the viewer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend.shards import routing
from backend.shards.db import Row
from backend.shards.ids import MAX_ID, shard_of
from backend.social.models import ACTIVITY


@dataclass(frozen=True)
class ActivityRecord:
    id: int
    kind: str
    actor_id: int
    photo_id: int | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> ActivityRecord:
        return cls(
            id=int(row["id"]),
            kind=row["kind"],
            actor_id=int(row["actor_id"]),
            photo_id=int(row["photo_id"]) if row["photo_id"] is not None else None,
            created_at=row["created_at"],
        )


async def get_activity_page(
    *, user_id: int, before: int | None, limit: int
) -> list[ActivityRecord]:
    """Newest first, older than `before`: one statement on the user's shard."""
    rows = await routing.aquery(
        shard_of(user_id),
        f'SELECT id, kind, actor_id, photo_id, created_at FROM {{schema}}."{ACTIVITY}" '
        "WHERE user_id = %s AND id < %s ORDER BY id DESC LIMIT %s",
        [user_id, before if before is not None else MAX_ID, limit],
    )
    return [ActivityRecord.from_row(r) for r in rows]
