"""Request metrics of the GraphQL layer (names in backend/metrics.py).

One schema extension, outermost, times each operation from parse to result
and counts it by operation and outcome code; with Sentry on, it tags the
request's scope with the operation, so an error event names it.

The operation label is bounded whatever clients send: a name the clients'
committed documents use (backend/graph/trusted_documents.json: `Feed`,
`LikePhoto`, ...) is kept; any other operation, named or anonymous, is
grouped as `<type>:<first root field>` (`query:feed`, `mutation:likePhoto`;
`query:other` when that field does not exist), so a client inventing names or
sending ad-hoc queries adds at most one series per root field, never one per
query text.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import sentry_sdk
from graphql import FieldNode, GraphQLError, GraphQLSchema, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from backend import metrics
from backend.graph.errors import format_error
from backend.graph.limits import select_operation
from backend.graph.persisted import trusted_documents

OK = "OK"
UNPARSED = "unparsed"
_NAME = re.compile(r"\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


@functools.cache
def known_operations() -> frozenset[str]:
    """Operation names of the clients' documents."""
    return frozenset(
        m.group(1) for text in trusted_documents().values() for m in [_NAME.search(text)] if m
    )


def operation_label(schema: GraphQLSchema, operation: OperationDefinitionNode | None) -> str:
    if operation is None:
        return UNPARSED
    name = operation.name.value if operation.name else None
    if name in known_operations():
        return str(name)
    root = schema.get_root_type(operation.operation)
    fields = getattr(root, "fields", {})
    first = next(
        (s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)),
        None,
    )
    # A root field the schema lacks (an invalid document) is not a label value.
    if first is None or (first not in fields and first != "__typename"):
        first = "other"
    return f"{operation.operation.value}:{first}"


def outcome_code(errors: list[GraphQLError] | None) -> str:
    if not errors:
        return OK
    return str(format_error(errors[0])["extensions"]["code"])


# Labelled children by label values (bounded, see above): `labels()` takes a
# lock and checks its arguments on every call, a third of the cost.
_requests: dict[tuple[str, str], Any] = {}
_durations: dict[str, Any] = {}


def _count(label: str, code: str, seconds: float) -> None:
    duration = _durations.get(label)
    if duration is None:
        duration = _durations[label] = metrics.GRAPHQL_DURATION.labels(label)
    duration.observe(seconds)
    requests = _requests.get((label, code))
    if requests is None:
        requests = _requests[(label, code)] = metrics.GRAPHQL_REQUESTS.labels(label, code)
    requests.inc()


class RequestMetrics(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        start = time.perf_counter()
        code = "INTERNAL_SERVER_ERROR"  # unless the operation comes back
        try:
            yield
            ctx = self.execution_context
            result = ctx.result
            errors = result.errors if result is not None else ctx.pre_execution_errors
            code = outcome_code(list(errors) if errors else None)
        finally:
            ctx = self.execution_context
            document = ctx.graphql_document
            operation = select_operation(document, ctx.operation_name) if document else None
            label = operation_label(ctx.schema._schema, operation)
            if sentry_sdk.get_client().is_active():
                # The request's own scope (Sentry's ASGI middleware, backend/asgi.py):
                # an error event of this operation names it.
                sentry_sdk.set_tag("graphql.operation", label)
                if ctx.operation_name:
                    sentry_sdk.set_tag("graphql.operation_name", ctx.operation_name[:200])
            _count(label, code, time.perf_counter() - start)
