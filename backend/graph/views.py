"""The /graphql endpoint (POST for clients, GraphiQL for a browser's GET)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from strawberry.django.views import AsyncGraphQLView
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from backend.graph.context import Context
from backend.graph.errors import format_error
from backend.graph.schema import schema
from backend.social.selectors import get_account_id_for_token


def bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class GraphQLView(AsyncGraphQLView[Context, None]):
    async def get_context(self, request: HttpRequest, response: HttpResponse) -> Context:
        token = bearer_token(request)
        viewer_id = await get_account_id_for_token(token) if token else None
        return Context(request=request, response=response, viewer_id=viewer_id, token=token)

    async def process_result(
        self, request: HttpRequest, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        data: dict[str, Any] = {"data": result.data}
        if result.errors:
            data["errors"] = [format_error(e) for e in result.errors]
        if result.extensions:
            data["extensions"] = result.extensions
        return data  # type: ignore[return-value]


graphql_view = GraphQLView.as_view(schema=schema, multipart_uploads_enabled=True)
