"""Queries: feed (home feed) and activity."""

from __future__ import annotations

import strawberry

from backend.feeds.selectors import get_feed_page
from backend.graph.context import Info
from backend.graph.feeds.types import Activity
from backend.graph.pagination import (
    After,
    Connection,
    Edge,
    First,
    build_connection,
    check_first,
    decode_cursor,
    encode_cursor,
    page_info,
)
from backend.graph.photos.loaders import PhotoByIdLoader
from backend.graph.social.loaders import UserByIdLoader
from backend.graph.types import Photo
from backend.social.selectors.activity import get_activity_page


@strawberry.type
class Query:
    @strawberry.field(
        description="Photos of the accounts the viewer follows (and the viewer's own), newest "
        "first. Its endCursor may move past photos it skipped as no longer visible. Null with "
        "UNAUTHENTICATED when anonymous."
    )
    async def feed(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Photo] | None:
        viewer_id = info.context.require_viewer()
        first = check_first(first)
        page = await get_feed_page(viewer_id=viewer_id, before=decode_cursor(after), limit=first)
        loader = info.context.loader(PhotoByIdLoader)
        for record in page.photos:
            loader.prime(record.id, record)
        # Every photo shows its owner (the url needs it too: one batched read).
        # A photo whose owner's server is down, and who is not cached, is left
        # out rather than nulling the page (its owner field cannot be null).
        owners = await info.context.loader(UserByIdLoader).load_many_available(
            [p.owner_id for p in page.photos]
        )
        edges = [
            Edge(cursor=encode_cursor(p.id), node=Photo(record=p))
            for p, owner in zip(page.photos, owners, strict=True)
            if owner is not None
        ]
        # Past entries skipped as hidden, so the next page does not read them again;
        # never past anything not returned (first: 0 reads ahead only to tell hasNextPage).
        skipped_to = (
            encode_cursor(page.next_before)
            if first > 0 and page.has_more and page.next_before is not None
            else None
        )
        return Connection(
            edges=edges,
            page_info=page_info(edges, after=after, has_next=page.has_more, end=skipped_to),
        )

    @strawberry.field(
        description="Likes and comments on the viewer's photos and new followers, newest "
        "first. Null with UNAUTHENTICATED when anonymous."
    )
    async def activity(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Activity] | None:
        viewer_id = info.context.require_viewer()
        first = check_first(first)
        records = await get_activity_page(
            user_id=viewer_id, before=decode_cursor(after), limit=first + 1
        )
        return build_connection(
            records,
            first=first,
            after=after,
            key=lambda a: a.id,
            node=lambda a: Activity(record=a),
        )
