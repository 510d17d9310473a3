"""The photo row's counters, changed inside the transaction of the rows they count."""

from __future__ import annotations

from typing import Any, Literal

import psycopg

from backend.errors import NotFound
from backend.photos.models import PHOTO
from backend.photos.selectors import PhotoRecord


async def adjust_photo_counter(
    conn: psycopg.AsyncConnection[Any],
    schema: str,
    photo_id: int,
    *,
    column: Literal["like_count", "comment_count"],
    delta: int,
) -> PhotoRecord:
    """Change a counter inside the caller's transaction (next to the row it counts).

    Raises NOT_FOUND when the photo is gone, which rolls the caller's change back.
    """
    cur = await conn.execute(
        f'UPDATE {schema}."{PHOTO}" SET {column} = {column} + %s WHERE id = %s RETURNING *',
        [delta, photo_id],
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("no such photo")
    return PhotoRecord.from_row(row)
