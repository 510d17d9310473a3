"""Loaders for users, follow edges, likes and comments (one statement per server per batch)."""

from __future__ import annotations

import asyncio

from backend.accounts.selectors import UserRecord, get_users_cached_partial
from backend.errors import Unavailable
from backend.graph.context import BaseLoader
from backend.shards import replicas
from backend.social.selectors.comments import (
    CommentPageKey,
    CommentRecord,
    get_comment_pages,
    get_liked_photo_ids_partial,
)
from backend.social.selectors.follows import get_active_followers_among, get_follow_statuses


class UserByIdLoader(BaseLoader[int, UserRecord | None]):
    """A user whose shard server is down (and who is not cached) raises
    Unavailable for itself; the other keys of the batch answer.

    Other users' profiles may come from the hot standbys; the viewer's own
    never does (just signed up, just edited: docs/decisions/0068-replica-reads.md)."""

    async def batch_load(self, keys: list[int]) -> list[UserRecord | None]:
        viewer_id = self.context.viewer_id
        if viewer_id in keys and replicas.stale_allowed():
            others = [k for k in keys if k != viewer_id]
            (found, unavailable), (own, own_unavailable) = await asyncio.gather(
                get_users_cached_partial(others), _fresh_users([viewer_id])
            )
            found, unavailable = found | own, unavailable | own_unavailable
        else:
            found, unavailable = await get_users_cached_partial(keys)
        return [Unavailable() if k in unavailable else found.get(k) for k in keys]  # type: ignore[misc]


async def _fresh_users(
    ids: list[int],
) -> tuple[dict[int, UserRecord], dict[int, BaseException]]:
    with replicas.fresh():
        return await get_users_cached_partial(ids)


class FollowStatusByTargetIdLoader(BaseLoader[int, str | None]):
    """The viewer's edge towards each user: "active", "pending" or None."""

    async def batch_load(self, keys: list[int]) -> list[str | None]:
        viewer_id = self.context.viewer_id
        if viewer_id is None:
            return [None] * len(keys)
        found = await get_follow_statuses(viewer_id=viewer_id, target_ids=keys)
        return [found.get(k) for k in keys]


class FollowsViewerByUserIdLoader(BaseLoader[int, bool]):
    """Whether each user actively follows the viewer (one read on the viewer's shard)."""

    async def batch_load(self, keys: list[int]) -> list[bool]:
        viewer_id = self.context.viewer_id
        if viewer_id is None:
            return [False] * len(keys)
        followers = await get_active_followers_among(user_id=viewer_id, among=keys)
        return [k in followers for k in keys]


class ViewerHasLikedByPhotoIdLoader(BaseLoader[int, bool]):
    async def batch_load(self, keys: list[int]) -> list[bool]:
        viewer_id = self.context.viewer_id
        if viewer_id is None:
            return [False] * len(keys)
        liked, unavailable = await get_liked_photo_ids_partial(viewer_id=viewer_id, photo_ids=keys)
        return [Unavailable() if k in unavailable else k in liked for k in keys]  # type: ignore[misc]


class CommentPageByPhotoIdLoader(BaseLoader[CommentPageKey, list[CommentRecord]]):
    """Key: (photo_id, before comment ID or None, limit)."""

    async def batch_load(self, keys: list[CommentPageKey]) -> list[list[CommentRecord]]:
        pages = await get_comment_pages(keys)
        return [
            Unavailable() if isinstance(pages[k], BaseException) else pages[k]  # type: ignore[misc]
            for k in keys
        ]
