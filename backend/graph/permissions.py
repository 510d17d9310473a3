"""Permission checks for resolvers, batched through the request's loaders."""

from __future__ import annotations

from backend.accounts.selectors import UserRecord
from backend.graph.context import Info
from backend.social.selectors.follows import check_can_view_content


async def check_can_view(info: Info, owner: UserRecord) -> None:
    """FORBIDDEN unless the viewer may see the owner's photos and follow lists."""
    from backend.graph.social.loaders import FollowStatusByTargetIdLoader

    viewer_id = info.context.viewer_id
    status = None
    if owner.is_private and viewer_id is not None and viewer_id != owner.id:
        status = await info.context.loader(FollowStatusByTargetIdLoader).load(owner.id)
    check_can_view_content(
        viewer_id=viewer_id, owner_id=owner.id, is_private=owner.is_private, status=status
    )
