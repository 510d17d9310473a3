"""Query.node(id:): refetch any object by its ID (Relay's Node interface).

The ID's kind is found on its shard (backend/social/selectors/objects.py);
the object is then read through this request's loaders and shown under the
same rules as the field that would have returned it: a photo or a comment
of a private account only to its approved followers (FORBIDDEN otherwise).
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.graph.context import Info
from backend.graph.ids import parse_id
from backend.graph.node import Node
from backend.graph.permissions import load_visible_photo
from backend.graph.social.loaders import UserByIdLoader
from backend.graph.types import Comment, Photo, User
from backend.social.selectors.objects import get_comment, get_object_kind


async def _photo(info: Info, photo_id: int) -> Photo | None:
    record = await load_visible_photo(info, photo_id)
    return Photo(record=record) if record else None


@strawberry.type
class Query:
    @strawberry.field(
        description="Any object by its ID (a User, Photo or Comment), for refetching; null "
        "when there is none. FORBIDDEN for a private account's photo or comment unless the "
        "viewer is an approved follower."
    )
    async def node(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The object's ID, as its `id` field gave it."),
        ],
    ) -> Node | None:
        object_id = await parse_id(id)
        kind = await get_object_kind(object_id)
        if kind == "user":
            user = await info.context.loader(UserByIdLoader).load(object_id)
            return User.from_record(user) if user else None
        if kind == "photo":
            return await _photo(info, object_id)
        if kind == "comment":
            comment = await get_comment(object_id)
            if comment is None or await _photo(info, comment.photo_id) is None:
                return None
            return Comment(record=comment)
        return None
