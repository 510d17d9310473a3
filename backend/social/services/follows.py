"""Follow, unfollow, and follow requests for private accounts."""

from __future__ import annotations

import logging
from collections.abc import Callable

from backend import metrics
from backend.accounts.selectors import get_users_by_ids
from backend.errors import InvalidInput, NotFound
from backend.social import effects
from backend.social.models import FollowStatus
from backend.social.services.edges import EdgeChange, Status

log = logging.getLogger(__name__)

ACTIVE = FollowStatus.ACTIVE.value
PENDING = FollowStatus.PENDING.value


async def _check_target(viewer_id: int, target_id: int) -> bool:
    """The target's is_private flag; raises for yourself or a missing user."""
    if viewer_id == target_id:
        raise InvalidInput("you cannot follow yourself")
    [target] = await get_users_by_ids([target_id])
    if target is None:
        raise NotFound("no such user")
    return target.is_private


async def do_follow(*, viewer_id: int, target_id: int) -> EdgeChange:
    """Follow a user; for a private account this files a request instead."""
    is_private = await _check_target(viewer_id, target_id)

    def decide(current: Status) -> Status:
        if current == ACTIVE:
            raise InvalidInput("you already follow this user")
        if current == PENDING:
            raise InvalidInput("you already asked to follow this user")
        return PENDING if is_private else ACTIVE

    change = await effects.guarded_edge_change(viewer_id, target_id, decide)
    if change.old != change.new:
        metrics.FOLLOWS.inc()
    return change


async def do_unfollow(*, viewer_id: int, target_id: int) -> EdgeChange:
    """Stop following a user, or withdraw a pending request."""
    await _check_target(viewer_id, target_id)

    def decide(current: Status) -> Status:
        if current is None:
            raise InvalidInput("you do not follow this user")
        return None

    return await effects.guarded_edge_change(viewer_id, target_id, decide)


def _pending_only(new: Status) -> Callable[[Status], Status]:
    def decide(current: Status) -> Status:
        if current != PENDING:
            raise NotFound("no pending follow request from this user")
        return new

    return decide


async def do_approve_follow_request(*, viewer_id: int, requester_id: int) -> EdgeChange:
    """Let a user who asked follow the viewer's private account."""
    return await effects.guarded_edge_change(
        requester_id, viewer_id, _pending_only(ACTIVE), push=False
    )


async def do_reject_follow_request(*, viewer_id: int, requester_id: int) -> EdgeChange:
    """Turn down a follow request."""
    return await effects.guarded_edge_change(
        requester_id, viewer_id, _pending_only(None), push=False
    )
