"""The viewer as the privacy policy (backend/social/policy.py) sees it, with
its follow statuses batched through this request's loader, the same one
`viewerFollows` uses: a page that asks both makes one statement."""

from __future__ import annotations

from backend.graph.context import Info
from backend.graph.photos.loaders import PhotoByIdLoader
from backend.graph.social.loaders import FollowStatusByTargetIdLoader, UserByIdLoader
from backend.photos.selectors import PhotoRecord
from backend.social.policy import Viewer, check_can_view


def viewer(info: Info) -> Viewer:
    loader = info.context.loader(FollowStatusByTargetIdLoader)

    async def lookup(owner_ids: list[int]) -> dict[int, str]:
        statuses = await loader.load_many(owner_ids)
        return {o: s for o, s in zip(owner_ids, statuses, strict=True) if s is not None}

    return Viewer(info.context.viewer_id, lookup)


async def load_visible_photo(info: Info, photo_id: int) -> PhotoRecord | None:
    """A photo by ID through this request's loaders: None when there is none,
    FORBIDDEN when the policy hides its owner's content from the viewer."""
    record = await info.context.loader(PhotoByIdLoader).load(photo_id)
    if record is None:
        return None
    owner = await info.context.loader(UserByIdLoader).load(record.owner_id)
    if owner is None:
        return None
    # The policy, with this request's loaders: many photos, one batch each.
    await check_can_view(viewer(info), owner)
    return record
