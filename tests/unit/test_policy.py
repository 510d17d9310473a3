"""The privacy policy's rule and its batching, with no server: the viewer's
follow statuses come from a dict, and the test counts how often they are asked."""

from __future__ import annotations

import pytest

from backend.accounts.selectors import UserRecord
from backend.errors import Forbidden
from backend.social.policy import Viewer, check_can_view, visible_owners

pytestmark = pytest.mark.unit


def user(user_id: int, *, private: bool) -> UserRecord:
    return UserRecord(
        id=user_id,
        username=f"u{user_id}",
        full_name="",
        bio="",
        is_private=private,
        photo_count=0,
        follower_count=0,
        following_count=0,
        photos_public=not private,
    )


def viewer(viewer_id: int | None, statuses: dict[int, str], asked: list[list[int]]) -> Viewer:
    async def lookup(owner_ids: list[int]) -> dict[int, str]:
        asked.append(owner_ids)
        return {o: statuses[o] for o in owner_ids if o in statuses}

    return Viewer(viewer_id, lookup)


async def test_one_lookup_for_every_private_owner_and_none_for_public_ones() -> None:
    owners = [
        user(1, private=False),
        user(2, private=True),  # followed
        user(3, private=True),  # requested, not approved
        user(4, private=True),  # nothing
        user(9, private=True),  # the viewer
    ]
    asked: list[list[int]] = []
    me = viewer(9, {2: "active", 3: "pending"}, asked)
    assert await visible_owners(me, owners) == {1, 2, 9}
    assert asked == [[2, 3, 4]]


async def test_public_owners_ask_nothing_and_anonymous_viewers_see_only_them() -> None:
    asked: list[list[int]] = []
    assert await visible_owners(viewer(7, {}, asked), [user(1, private=False)]) == {1}
    assert await visible_owners(
        viewer(None, {}, asked), [user(1, private=False), user(2, private=True)]
    ) == {1}
    assert asked == []


async def test_check_can_view_refuses_with_forbidden() -> None:
    asked: list[list[int]] = []
    with pytest.raises(Forbidden):
        await check_can_view(viewer(5, {6: "pending"}, asked), user(6, private=True))
    await check_can_view(viewer(5, {6: "active"}, asked), user(6, private=True))
