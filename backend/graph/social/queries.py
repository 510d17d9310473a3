"""Queries: viewer, user."""

from __future__ import annotations

import strawberry

from backend.accounts.selectors import get_account_by_username
from backend.errors import InvalidInput, NotFound
from backend.graph.context import Info
from backend.graph.ids import parse_id
from backend.graph.pagination import Connection
from backend.graph.social.loaders import UserByIdLoader
from backend.graph.social.types import User, user_edges


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user; null when anonymous.")
    async def viewer(self, info: Info) -> User | None:
        if info.context.viewer_id is None:
            return None
        record = await info.context.loader(UserByIdLoader).load(info.context.viewer_id)
        return User.from_record(record) if record else None

    @strawberry.field(description="A user by ID or by username (case-insensitive).")
    async def user(
        self, info: Info, id: strawberry.ID | None = None, username: str | None = None
    ) -> User | None:
        if (id is None) == (username is None):
            raise InvalidInput("give exactly one of id and username")
        if id is not None:
            user_id = await parse_id(id)
        else:
            assert username is not None
            account = await get_account_by_username(username)
            if account is None:
                return None
            user_id = account.id
        record = await info.context.loader(UserByIdLoader).load(user_id)
        return User.from_record(record) if record else None

    @strawberry.field(description="Pending requests to follow the viewer's private account.")
    async def follow_requests(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[User]:
        viewer_id = info.context.require_viewer()
        me = await info.context.loader(UserByIdLoader).load(viewer_id)
        if me is None:
            raise NotFound("no such user")
        return await user_edges(info, me, "requests", first, after)
