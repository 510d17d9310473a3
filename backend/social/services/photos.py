"""What a deleted photo leaves in this domain: its likes, comments and the
activity that points at it (consumer of PHOTO_DELETED; idempotent)."""

from __future__ import annotations

from typing import Any

import psycopg

from backend.shards import routing
from backend.shards.ids import shard_of
from backend.social.models import ACTIVITY, COMMENT, LIKE


async def ado_forget_photo(*, photo_id: int) -> None:
    """Delete the photo's likes, comments and activity (on the photo's shard)."""

    async def delete(conn: psycopg.AsyncConnection[Any], schema: str) -> None:
        for table in (LIKE, COMMENT, ACTIVITY):
            await conn.execute(f'DELETE FROM {schema}."{table}" WHERE photo_id = %s', [photo_id])

    await routing.awrite(shard_of(photo_id), delete)
