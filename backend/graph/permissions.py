"""The viewer as the privacy policy (backend/social/policy.py) sees it, with
its follow statuses batched through this request's loader, the same one
`viewerFollows` uses: a page that asks both makes one statement."""

from __future__ import annotations

from backend.graph.context import Info
from backend.graph.social.loaders import FollowStatusByTargetIdLoader
from backend.social.policy import Viewer


def viewer(info: Info) -> Viewer:
    loader = info.context.loader(FollowStatusByTargetIdLoader)

    async def lookup(owner_ids: list[int]) -> dict[int, str]:
        statuses = await loader.load_many(owner_ids)
        return {o: s for o, s in zip(owner_ids, statuses, strict=True) if s is not None}

    return Viewer(info.context.viewer_id, lookup)
