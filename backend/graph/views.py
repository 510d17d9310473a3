"""The /graphql endpoint (POST for clients, GraphiQL for a browser's GET).

Strawberry's ASGI app, called by backend/asgi.py's router without Django's
request handling in between (docs/decisions/0010-runtime.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cross_web import FormData, HTTPException, StarletteRequestAdapter
from django.conf import settings
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from backend.accounts.selectors import get_session_for_token
from backend.clientip import client_ip
from backend.graph.context import Context
from backend.graph.envelope import StrictGraphQL
from backend.graph.errors import format_error
from backend.graph.schema import schema

# `operations` and `map`, the GraphQL multipart request spec's two fields.
MULTIPART_FIELDS = 2
# GraphiQL's page: its files are served from this origin (/static/graphiql/,
# backend/webfiles.py), with a default query that shows how to sign in.
GRAPHIQL_PAGE = (Path(__file__).resolve().parent / "graphiql.html").read_text()


def bearer_token(headers: Any) -> str | None:
    header = headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return str(token.strip())


class LimitedRequestAdapter(StarletteRequestAdapter):
    """Multipart bodies hold `operations`, `map` and at most GRAPHQL_MAX_FILES
    files; Starlette refuses more while parsing, before spooling them."""

    async def get_form_data(self) -> FormData:
        try:
            form = await self._request.form(
                max_files=settings.GRAPHQL_MAX_FILES, max_fields=MULTIPART_FIELDS
            )
        except MultiPartException as exc:
            raise HTTPException(400, str(exc)) from None
        return FormData(files=form, form=form)


class GraphQLApp(StrictGraphQL):
    request_adapter_class = LimitedRequestAdapter

    @property
    def graphql_ide_html(self) -> str:
        return GRAPHIQL_PAGE

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A browser asks for HTML; a GET that names a persisted query (APQ
        # over GET, for CDN caching) is an operation even without `query`.
        params = request.query_params
        return (
            request.method == "GET"
            and params.get("query") is None
            and params.get("extensions") is None
            and "text/html" in request.headers.get("accept", "")
        )

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
            client_ip=client_ip(request.scope),
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

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        retry_after = _retry_after(response_data)
        if retry_after is not None:
            # RATE_LIMITED: HTTP says so too, for clients and proxies that look.
            response.status_code = 429
            response.headers["Retry-After"] = str(retry_after)
        return response


def _retry_after(data: Any) -> int | None:
    if not isinstance(data, dict):
        return None
    waits = [
        e["extensions"]["retryAfter"]
        for e in data.get("errors") or ()
        if e.get("extensions", {}).get("code") == "RATE_LIMITED"
    ]
    return max(waits) if waits else None


graphql_app = GraphQLApp(
    schema,
    graphql_ide="graphiql" if settings.GRAPHIQL else None,
    multipart_uploads_enabled=True,
)
