"""Queries: photo."""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.graph.context import Info
from backend.graph.ids import parse_id
from backend.graph.permissions import viewer
from backend.graph.photos.loaders import PhotoByIdLoader
from backend.graph.social.loaders import UserByIdLoader
from backend.graph.types import Photo
from backend.social.policy import check_can_view


@strawberry.type
class Query:
    @strawberry.field(
        description="A photo by ID; null when there is none. FORBIDDEN for a private "
        "account's photo unless the viewer is an approved follower."
    )
    async def photo(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The photo's ID.")],
    ) -> Photo | None:
        record = await info.context.loader(PhotoByIdLoader).load(await parse_id(id))
        if record is None:
            return None
        owner = await info.context.loader(UserByIdLoader).load(record.owner_id)
        if owner is None:
            return None
        # The policy, with this request's loaders: many photos, one batch each.
        await check_can_view(viewer(info), owner)
        return Photo(record=record)
