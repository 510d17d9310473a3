"""The privacy policy: who may see a user's photos, follow lists, likes and
comments. One rule, asked in batches.

A public account shows its content to everyone; a private one to itself and
its approved (active) followers. Everyone else gets FORBIDDEN, and so does a
hidden photo wherever it is asked for by ID (`photo`, likes, comments): the
account exists and says it is private, so "not found" would be a lie that
hides nothing (docs/decisions/0015-domains-and-events.md).

`Viewer` carries the viewer's ID and how to learn its follow statuses: the
graph layer passes its per-request DataLoader (one statement per batch of
owners, shared with `viewerFollows`); other callers get a direct read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from backend.accounts.selectors import UserRecord
from backend.errors import Forbidden
from backend.social.models import FollowStatus
from backend.social.selectors.follows import get_follow_statuses

# Follow statuses ("active"/"pending") of the viewer towards these users.
StatusLookup = Callable[[list[int]], Awaitable[dict[int, str]]]

PRIVATE = "this account is private: only its approved followers can see this"


@dataclass(frozen=True)
class Viewer:
    id: int | None
    statuses: StatusLookup = field(repr=False)

    @classmethod
    def of(cls, viewer_id: int | None) -> Viewer:
        """A viewer whose statuses are read directly (no request-wide batching)."""

        async def lookup(owner_ids: list[int]) -> dict[int, str]:
            if viewer_id is None:
                return {}
            return await get_follow_statuses(viewer_id=viewer_id, target_ids=owner_ids)

        return cls(viewer_id, lookup)


def can_view(viewer_id: int | None, owner: UserRecord, status: str | None) -> bool:
    return not owner.is_private or viewer_id == owner.id or status == FollowStatus.ACTIVE


async def visible_owners(viewer: Viewer, owners: Iterable[UserRecord]) -> set[int]:
    """The IDs of `owners` whose content the viewer may see: one status lookup
    for all the private ones."""
    owners = list(owners)
    ask = sorted(
        {o.id for o in owners if o.is_private and viewer.id is not None and o.id != viewer.id}
    )
    statuses = await viewer.statuses(ask) if ask else {}
    return {o.id for o in owners if can_view(viewer.id, o, statuses.get(o.id))}


async def check_can_view(viewer: Viewer, owner: UserRecord) -> None:
    """FORBIDDEN unless the viewer may see the owner's content."""
    if owner.id not in await visible_owners(viewer, [owner]):
        raise Forbidden(PRIVATE)
