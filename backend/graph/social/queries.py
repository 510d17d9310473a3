"""Queries: viewer, user, followRequests."""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.accounts.selectors import (
    SEARCH_QUERY_MAX,
    get_account_by_username,
    search_user_ids,
)
from backend.errors import InvalidInput, NotAuthenticated, NotFound
from backend.graph.context import Info
from backend.graph.ids import parse_id
from backend.graph.pagination import (
    After,
    Connection,
    Edge,
    First,
    check_first,
    decode_cursor,
    encode_cursor,
    page_info,
)
from backend.graph.social.loaders import UserByIdLoader
from backend.graph.types import User, user_edges


@strawberry.type
class Query:
    @strawberry.field(
        description="The signed-in user; null when anonymous (no Authorization header). A "
        "token that is invalid, expired or revoked answers null with UNAUTHENTICATED, so an "
        "app can tell signed out from anonymous."
    )
    async def viewer(self, info: Info) -> User | None:
        if info.context.viewer_id is None:
            if info.context.token is not None:
                raise NotAuthenticated("the token is invalid, expired or revoked")
            return None
        record = await info.context.loader(UserByIdLoader).load(info.context.viewer_id)
        return User.from_record(record) if record else None

    @strawberry.field(
        description="A user by ID or by username (case-insensitive); give exactly one. Null "
        "when there is none."
    )
    async def user(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID | None, strawberry.argument(description="The user's ID.")
        ] = None,
        username: Annotated[
            str | None,
            strawberry.argument(description="The user's username, in any case."),
        ] = None,
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

    @strawberry.field(
        description="Pending requests to follow the viewer's private account, newest first. "
        "Null with UNAUTHENTICATED when anonymous."
    )
    async def follow_requests(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[User] | None:
        viewer_id = info.context.require_viewer()
        me = await info.context.loader(UserByIdLoader).load(viewer_id)
        if me is None:
            raise NotFound("no such user")
        return await user_edges(info, me, "requests", first, after)

    @strawberry.field(
        description="Accounts whose username or full name (or a later word of it: a last "
        "name) starts with `query`, ignoring case and accents; best first: exact matches, "
        "then usernames, then names, then shorter matches. Made for search as you type: the "
        "best few hundred matches of a short prefix can be paged through; type more to "
        "narrow. A blank query finds nobody."
    )
    async def search_users(
        self,
        info: Info,
        query: Annotated[
            str,
            strawberry.argument(
                description=f"What the user typed so far (at most {SEARCH_QUERY_MAX} characters)."
            ),
        ],
        first: First = 20,
        after: After = None,
    ) -> Connection[User]:
        limit = check_first(first)
        offset = decode_cursor(after) or 0
        ids = await search_user_ids(query=query, offset=offset, limit=limit + 1)
        records = await info.context.loader(UserByIdLoader).load_many(ids[:limit])
        edges = [
            Edge(cursor=encode_cursor(offset + n), node=User.from_record(record))
            for n, record in enumerate(records, start=1)
            if record is not None
        ]
        end = encode_cursor(offset + len(records)) if records else None
        return Connection(
            edges=edges, page_info=page_info(edges, after=after, has_next=len(ids) > limit, end=end)
        )
