"""What an ID names: IDs say their logical shard but not their table.

Every sharded row's ID comes from its schema's one next_id(), so an ID is
unique across the tables of its logical shard, and a primary-key probe of
each table there finds its kind (docs/decisions/0040-node-ids.md).
"""

from __future__ import annotations

from typing import Literal

from backend.accounts.models import PROFILE
from backend.photos.models import PHOTO
from backend.shards import replicas, routing
from backend.shards.ids import shard_of
from backend.social.models import COMMENT
from backend.social.selectors.comments import CommentRecord

ObjectKind = Literal["user", "photo", "comment"]


async def get_object_kind(object_id: int) -> ObjectKind | None:
    """Which kind of object `object_id` is (None: no user, photo or comment has
    it): one statement of three primary-key probes on the ID's shard."""
    rows = await routing.aquery(
        shard_of(object_id),
        f"SELECT 'user' AS kind FROM {{schema}}.\"{PROFILE}\" WHERE user_id = %(id)s "
        f"UNION ALL SELECT 'photo' FROM {{schema}}.\"{PHOTO}\" WHERE id = %(id)s "
        f"UNION ALL SELECT 'comment' FROM {{schema}}.\"{COMMENT}\" WHERE id = %(id)s LIMIT 1",
        {"id": object_id},
    )
    kind: ObjectKind | None = rows[0]["kind"] if rows else None
    return kind


async def get_comment(comment_id: int) -> CommentRecord | None:
    """One comment by ID (on the photo's shard, where its ID was minted)."""
    rows = await routing.aquery(
        shard_of(comment_id),
        f'SELECT * FROM {{schema}}."{COMMENT}" WHERE id = %s',
        [comment_id],
        kind=replicas.COMMENTS,
    )
    return CommentRecord.from_row(rows[0]) if rows else None
