"""Queries: feed (home feed) and activity."""

from __future__ import annotations

import strawberry

from backend.feeds.selectors import get_feed_page
from backend.graph.context import Info
from backend.graph.feeds.types import Activity
from backend.graph.pagination import (
    Connection,
    build_connection,
    check_first,
    decode_cursor,
    encode_cursor,
)
from backend.graph.photos.loaders import PhotoByIdLoader
from backend.graph.photos.types import Photo
from backend.social.selectors.activity import get_activity_page


@strawberry.type
class Query:
    @strawberry.field(description="Photos of the accounts the viewer follows, newest first.")
    async def feed(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Photo]:
        viewer_id = info.context.require_viewer()
        first = check_first(first)
        page = await get_feed_page(viewer_id=viewer_id, before=decode_cursor(after), limit=first)
        loader = info.context.loader(PhotoByIdLoader)
        for record in page.photos:
            loader.prime(record.id, record)
        connection = build_connection(
            page.photos, first=first, key=lambda p: p.id, node=lambda p: Photo(record=p)
        )
        connection.page_info.has_next_page = page.has_more
        if page.has_more and page.next_before is not None:
            connection.page_info.end_cursor = encode_cursor(page.next_before)
        return connection

    @strawberry.field(
        description="Likes and comments on the viewer's photos and new followers, newest first."
    )
    async def activity(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Activity]:
        viewer_id = info.context.require_viewer()
        first = check_first(first)
        records = await get_activity_page(
            user_id=viewer_id, before=decode_cursor(after), limit=first + 1
        )
        return build_connection(
            records, first=first, key=lambda a: a.id, node=lambda a: Activity(record=a)
        )
