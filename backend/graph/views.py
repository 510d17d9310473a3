"""The /graphql endpoint (POST for clients, GraphiQL for a browser's GET).

Strawberry's ASGI app, called by backend/asgi.py's router without Django's
request handling in between (docs/decisions/0010-runtime.md).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from backend.graph.context import Context
from backend.graph.errors import format_error
from backend.graph.schema import schema
from backend.social.selectors import get_session_for_token


def bearer_token(headers: Any) -> str | None:
    header = headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return str(token.strip())


class GraphQLApp(GraphQL[Context, None]):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        token = bearer_token(request.headers)
        session = await get_session_for_token(token) if token else None
        return Context(
            request=request,
            response=response,
            viewer_id=session.account_id if session else None,
            token=token,
            session=session,
        )

    async def process_result(
        self, request: Request | WebSocket, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        data: dict[str, Any] = {"data": result.data}
        if result.errors:
            data["errors"] = [format_error(e) for e in result.errors]
        if result.extensions:
            data["extensions"] = result.extensions
        return data  # type: ignore[return-value]


graphql_app = GraphQLApp(schema, multipart_uploads_enabled=True)
