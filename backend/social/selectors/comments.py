"""Reads of likes and comments (both live on the photo's shard)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.shards import replicas, routing
from backend.shards.db import Row
from backend.shards.ids import MAX_ID
from backend.social.models import COMMENT, LIKE


@dataclass(frozen=True)
class CommentRecord:
    id: int
    photo_id: int
    author_id: int
    text: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> CommentRecord:
        return cls(
            id=int(row["id"]),
            photo_id=int(row["photo_id"]),
            author_id=int(row["author_id"]),
            text=row["text"],
            created_at=row["created_at"],
        )


async def get_liked_photo_ids(*, viewer_id: int, photo_ids: Iterable[int]) -> set[int]:
    """Which of the photos the viewer likes: one statement per physical server."""
    liked, unavailable = await get_liked_photo_ids_partial(viewer_id=viewer_id, photo_ids=photo_ids)
    if unavailable:
        raise next(iter(unavailable.values()))
    return liked


async def get_liked_photo_ids_partial(
    *, viewer_id: int, photo_ids: Iterable[int]
) -> tuple[set[int], dict[int, BaseException]]:
    """`get_liked_photo_ids`, and the photos whose server could not be asked."""

    def select(schema: str, keys: list[int]) -> tuple[str, list[Any]]:
        return (
            f'SELECT photo_id FROM {schema}."{LIKE}" WHERE user_id = %s AND photo_id = ANY(%s)',
            [viewer_id, keys],
        )

    part = await routing.afetch_by_shard_partial(photo_ids, select)
    return {int(r["photo_id"]) for r in part.rows}, part.unavailable


CommentPageKey = tuple[int, int | None, int]  # photo_id, before (comment ID), limit


async def get_comment_pages(
    keys: list[CommentPageKey],
) -> dict[CommentPageKey, list[CommentRecord] | BaseException]:
    """Newest-first comment pages of many photos; for a photo whose server is
    down, the error it raised instead of its page.

    Keys with the same (before, limit) share one statement per physical server:
    a LATERAL top-N per photo inside each logical shard's SELECT. Pages may
    come from the hot standbys (replicas.COMMENTS) where the caller allows.
    """
    groups: dict[tuple[int | None, int], list[int]] = defaultdict(list)
    for photo_id, before, limit in keys:
        groups[(before, limit)].append(photo_id)

    async def one_group(before: int | None, limit: int, photo_ids: list[int]) -> routing.Partial:
        def select(schema: str, ids: list[int]) -> tuple[str, list[Any]]:
            return (
                f"SELECT c.* FROM unnest(%s::bigint[]) AS p(id) CROSS JOIN LATERAL "
                f'(SELECT * FROM {schema}."{COMMENT}" c WHERE c.photo_id = p.id AND c.id < %s '
                "ORDER BY c.id DESC LIMIT %s) c",
                [ids, before if before is not None else MAX_ID, limit],
            )

        return await routing.afetch_by_shard_partial(photo_ids, select, kind=replicas.COMMENTS)

    results = await asyncio.gather(
        *(one_group(before, limit, ids) for (before, limit), ids in groups.items())
    )
    pages: dict[CommentPageKey, list[CommentRecord]] = {key: [] for key in keys}
    failed: dict[CommentPageKey, BaseException] = {}
    for (before, limit), part in zip(groups, results, strict=True):
        for row in part.rows:
            record = CommentRecord.from_row(row)
            pages[(record.photo_id, before, limit)].append(record)
        for photo_id, error in part.unavailable.items():
            failed[(photo_id, before, limit)] = error
    for page in pages.values():
        page.sort(key=lambda c: c.id, reverse=True)
    return {**pages, **failed}
