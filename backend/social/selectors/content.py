"""Reads of a user's content for a viewer: each applies the privacy policy
(social/policy.py) before it reads anything.

These are the only ways to a user's photo list and follow lists. One photo by
ID is checked with `policy.check_can_view` by its reader, with the request's
loaders. The lower-level selectors called here (photos.selectors,
follows.get_edges) take no viewer and are not for resolvers.
"""

from __future__ import annotations

from backend.accounts.selectors import UserRecord
from backend.errors import Forbidden
from backend.photos.selectors import PhotoRecord, get_photos_of_user
from backend.social.policy import Viewer, check_can_view
from backend.social.selectors.follows import Direction, EdgeRecord, get_edges


async def get_user_photos(
    viewer: Viewer, owner: UserRecord, *, before: int | None, limit: int
) -> list[PhotoRecord]:
    """The owner's photos, newest first (FORBIDDEN when the viewer may not see them)."""
    await check_can_view(viewer, owner)
    # The owner's own list always from the primary: what they just posted
    # or deleted must show (docs/decisions/0068-replica-reads.md).
    return await get_photos_of_user(
        owner_id=owner.id, before=before, limit=limit, stale_ok=viewer.id != owner.id
    )


async def get_user_edges(
    viewer: Viewer, owner: UserRecord, direction: Direction, *, before: int | None, limit: int
) -> list[EdgeRecord]:
    """A page of the owner's followers or followed users (FORBIDDEN when the
    viewer may not see them); pending requests only for the owner themself."""
    if direction == "requests":
        if viewer.id != owner.id:
            raise Forbidden("only the account itself can see its follow requests")
    else:
        await check_can_view(viewer, owner)
    return await get_edges(user_id=owner.id, direction=direction, before=before, limit=limit)
