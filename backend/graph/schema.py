"""The one public schema: merges every domain's queries and mutations."""

from __future__ import annotations

from typing import Any

import strawberry
from django.conf import settings
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
)
from strawberry.extensions.query_depth_limiter import create_validator
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from backend.graph.errors import log, should_log
from backend.graph.feeds.queries import Query as FeedQuery
from backend.graph.limits import RequestLimits
from backend.graph.metrics import RequestMetrics
from backend.graph.nodes import Query as NodeQuery
from backend.graph.notifications.mutations import Mutation as NotificationMutation
from backend.graph.persisted import PersistedQueries
from backend.graph.photos.mutations import Mutation as PhotoMutation
from backend.graph.photos.queries import Query as PhotoQuery
from backend.graph.replica_reads import ReplicaReads
from backend.graph.social.mutations import GraphMutation
from backend.graph.social.mutations import Mutation as SocialMutation
from backend.graph.social.queries import Query as SocialQuery


@strawberry.type(
    description="What can be read. Fields that can be refused (a private account's lists, "
    "the viewer's own lists) are nullable: an error nulls only that field."
)
class Query(SocialQuery, PhotoQuery, FeedQuery, NodeQuery):
    pass


@strawberry.type(
    description="What can be changed. Every mutation needs a bearer token except signUp and "
    "logIn, and returns what a normalised client cache needs to update itself."
)
class Mutation(SocialMutation, GraphMutation, PhotoMutation, NotificationMutation):
    pass


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client errors (AppError, invalid queries) are not ours to log.
        for error in errors:
            if should_log(error):
                log.error("unhandled error in %s", error.path, exc_info=error.original_error)


# Distinct documents kept parsed and validated (per process).
DOCUMENT_CACHE_SIZE = 512


def build_schema(**kwargs: Any) -> Schema:
    # Rules are built once per schema: a rule class made per request would
    # never hit the validation cache, which is keyed on the rules too.
    rules: list[type[ASTValidationRule]] = [
        create_validator(settings.GRAPHQL_MAX_DEPTH, None, None)
    ]
    if not settings.GRAPHQL_INTROSPECTION:
        rules.extend(DisableIntrospection().validation_rules)
    built = Schema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(disable_field_suggestions=not settings.GRAPHQL_FIELD_SUGGESTIONS),
        extensions=[
            RequestMetrics,  # outermost: it times and counts everything below
            PersistedQueries,  # first: it may supply the document
            lambda: AddValidationRules(rules),
            lambda: MaxTokensLimiter(max_token_count=settings.GRAPHQL_MAX_TOKENS),
            lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
            # Size checks, then the validation cache; cost and rate limits.
            RequestLimits,
            # Whether this request's reads may use the hot standbys.
            ReplicaReads,
        ],
        **kwargs,
    )
    # Sentry's Strawberry integration (backend/sentry.py) puts its extension
    # first, and it reads the operation name: the persisted-query lookup must
    # still run before anything reads the document.
    built.extensions = (
        PersistedQueries,
        *(e for e in built.extensions if e is not PersistedQueries),
    )
    return built


schema = build_schema()
