"""Queries: photo."""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.graph.context import Info
from backend.graph.ids import parse_id
from backend.graph.permissions import load_visible_photo
from backend.graph.types import Photo


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
        record = await load_visible_photo(info, await parse_id(id))
        return Photo(record=record) if record else None
