"""Reads of follow edges (no viewer: resolvers read them through
selectors/content.py, which applies the privacy policy)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from backend.shards import routing
from backend.shards.ids import MAX_ID, shard_of
from backend.social.models import FOLLOWER, FOLLOWING, FollowStatus

Direction = Literal["followers", "following", "requests"]


@dataclass(frozen=True)
class EdgeRecord:
    id: int  # the edge's own time-sorted ID: the page cursor
    user_id: int  # the other side: a follower, a followed user or a requester


async def get_follow_statuses(*, viewer_id: int, target_ids: Iterable[int]) -> dict[int, str]:
    """The viewer's edge status (active/pending) towards each target that has one."""
    targets = sorted(set(target_ids))
    if not targets:
        return {}
    rows = await routing.aquery(
        shard_of(viewer_id),
        f'SELECT target_id, status FROM {{schema}}."{FOLLOWING}" '
        "WHERE user_id = %s AND target_id = ANY(%s)",
        [viewer_id, targets],
    )
    return {int(r["target_id"]): r["status"] for r in rows}


async def get_edges(
    *, user_id: int, direction: Direction, before: int | None, limit: int
) -> list[EdgeRecord]:
    """A page of a user's followers, followed users or pending requests, newest first."""
    table, other, status = {
        "followers": (FOLLOWER, "follower_id", FollowStatus.ACTIVE),
        "following": (FOLLOWING, "target_id", FollowStatus.ACTIVE),
        "requests": (FOLLOWER, "follower_id", FollowStatus.PENDING),
    }[direction]
    rows = await routing.aquery(
        shard_of(user_id),
        f'SELECT id, {other} AS other FROM {{schema}}."{table}" '
        "WHERE user_id = %s AND status = %s AND id < %s ORDER BY id DESC LIMIT %s",
        [user_id, status.value, before if before is not None else MAX_ID, limit],
    )
    return [EdgeRecord(id=int(r["id"]), user_id=int(r["other"])) for r in rows]


async def get_active_followers_among(*, user_id: int, among: Iterable[int]) -> set[int]:
    """Those of `among` who actively follow `user_id` (one statement, on its shard)."""
    rows = await routing.aquery(
        shard_of(user_id),
        f'SELECT follower_id FROM {{schema}}."{FOLLOWER}" '
        "WHERE user_id = %s AND status = %s AND follower_id = ANY(%s)",
        [user_id, FollowStatus.ACTIVE.value, list(among)],
    )
    return {int(r["follower_id"]) for r in rows}
