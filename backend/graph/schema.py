"""The one public schema: merges every domain's queries and mutations."""

from __future__ import annotations

from typing import Any

import strawberry
from django.conf import settings
from graphql import GraphQLError
from strawberry.extensions import QueryDepthLimiter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from backend.graph.errors import log, should_log
from backend.graph.feeds.queries import Query as FeedQuery
from backend.graph.notifications.mutations import Mutation as NotificationMutation
from backend.graph.photos.mutations import Mutation as PhotoMutation
from backend.graph.photos.queries import Query as PhotoQuery
from backend.graph.social.mutations import GraphMutation
from backend.graph.social.mutations import Mutation as SocialMutation
from backend.graph.social.queries import Query as SocialQuery

Query = merge_types("Query", (SocialQuery, PhotoQuery, FeedQuery))
Mutation = merge_types(
    "Mutation", (SocialMutation, GraphMutation, PhotoMutation, NotificationMutation)
)


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client errors (AppError, invalid queries) are not ours to log.
        for error in errors:
            if should_log(error):
                log.error("unhandled error in %s", error.path, exc_info=error.original_error)


def build_schema(**kwargs: Any) -> Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        extensions=[lambda: QueryDepthLimiter(max_depth=settings.GRAPHQL_MAX_DEPTH)],
        **kwargs,
    )


schema = build_schema()
