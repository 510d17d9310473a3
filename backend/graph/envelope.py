"""The GraphQL-over-HTTP envelope: malformed requests get a JSON GraphQL error.

Strawberry's ASGI view answers some malformed requests with a plain-text 400
and lets others raise (a 500 with a traceback in the log): a JSON body that
is not an object, JSON that is not UTF-8, a multipart `map` that is not an
object of lists of paths, or a path that names nothing. `StrictGraphQL`
checks the envelope where Strawberry parses it and answers every such request
with `{"data": null, "errors": [{..., "extensions": {"code": "BAD_USER_INPUT"}}]}`
and the status Strawberry chose (400, or 405 for a method other than GET and
POST), as the GraphQL-over-HTTP spec has it. Nothing is logged: the client
is at fault.

The multipart rules are the GraphQL multipart request spec's
(https://github.com/jaydenseric/graphql-multipart-request-spec): an
`operations` field (a JSON object), a `map` field (a JSON object from file
part names to lists of object paths into `variables`), and the file parts it
names. A path must name a slot that `operations` has (the client's `null`
placeholder).

A server the request needs before its operation runs (the directory, which
holds the viewer's session) that cannot be reached answers the whole request
with `UNAVAILABLE`, status 503, as a resolver's failure would answer its field
(docs/decisions/0060-reads-that-degrade.md), not with a 500 and a traceback.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any, NoReturn

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError

from backend.graph.context import Context
from backend.graph.errors import UNAVAILABLE_ERRORS

log = logging.getLogger("backend.graph")

BAD_REQUEST = 400
SERVICE_UNAVAILABLE = 503
SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
MULTIPART_SPEC = "see the GraphQL multipart request spec"


METHOD_NOT_ALLOWED = 405


class MutationOverGet(HTTPException):
    """A mutation sent with GET: 405 with `Allow: POST` (GraphQL over HTTP), as
    GET must stay safe to repeat and to cache."""

    def __init__(self) -> None:
        super().__init__(METHOD_NOT_ALLOWED, "a mutation must be sent with POST, not GET")


def request_error(message: str, status: int = BAD_REQUEST, *, allow: str = "GET, POST") -> Response:
    """A GraphQL-shaped error for a request that could not be executed at all."""
    headers = {"Allow": allow} if status == METHOD_NOT_ALLOWED else None
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]},
        status_code=status,
        headers=headers,
    )


def unavailable_error() -> Response:
    return JSONResponse(
        {
            "data": None,
            "errors": [
                {
                    "message": "a backend service is unavailable, try again",
                    "extensions": {"code": "UNAVAILABLE"},
                }
            ],
        },
        status_code=SERVICE_UNAVAILABLE,
        headers={"Retry-After": "1"},
    )


def refuse(message: str) -> NoReturn:
    raise HTTPException(BAD_REQUEST, message)


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _has_lone_surrogate(value: object) -> bool:
    """A string with half a UTF-16 surrogate pair (JSON can escape one, "\\ud800";
    UTF-8 cannot encode it, so PostgreSQL, Redis and hashing would fail on it)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def load_json(data: str | bytes, what: str) -> object:
    """Strict JSON: UTF-8, no NaN or Infinity, no unpaired surrogates."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        refuse(f"{what} is not UTF-8")
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        refuse(f"{what} is not valid JSON")
    # Only an escape can make a surrogate: valid UTF-8 never decodes to one.
    if SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        refuse(f"{what} has a string with an unpaired UTF-16 surrogate")
    return value


def _slot(target: object, key: str, path: str) -> tuple[dict[str, Any] | list[Any], str | int]:
    """The container and key that `key` names in `target`, which must exist."""
    if isinstance(target, dict) and key in target:
        return target, key
    if isinstance(target, list) and key.isascii() and key.isdigit() and int(key) < len(target):
        return target, int(key)
    refuse(f"map path {path!r} names nothing in operations ({MULTIPART_SPEC})")


def place_file(operations: dict[str, Any], path: str, file: UploadFile) -> None:
    """Put `file` where `path` (like "variables.file" or "variables.files.0") points."""
    keys = path.split(".")
    if len(keys) < 2 or keys[0] != "variables":
        refuse(f'map path {path!r} must point into variables, like "variables.file"')
    target: object = operations
    for key in keys[:-1]:
        container, index = _slot(target, key, path)
        target = container[index]  # type: ignore[index]
    container, index = _slot(target, keys[-1], path)
    container[index] = file  # type: ignore[index]


def operations_with_files(form: Mapping[str, Any]) -> dict[str, Any]:
    """The multipart request's operations with its files placed per its map."""
    raw_operations, raw_map = form.get("operations"), form.get("map")
    if not isinstance(raw_operations, str):
        refuse(f"a multipart request needs an `operations` field ({MULTIPART_SPEC})")
    if not isinstance(raw_map, str):
        refuse(f"a multipart request needs a `map` field ({MULTIPART_SPEC})")
    operations = load_json(raw_operations, "the `operations` field")
    if not isinstance(operations, dict):
        refuse("the `operations` field must be a JSON object (one GraphQL request)")
    files_map = load_json(raw_map, "the `map` field")
    if not isinstance(files_map, dict):
        refuse(f"the `map` field must be a JSON object of file parts to paths ({MULTIPART_SPEC})")
    for name, paths in files_map.items():
        file = form.get(name)
        if not isinstance(file, UploadFile):
            refuse(f"the `map` field names a file part {name!r} that the request does not have")
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            refuse(f'the `map` entry {name!r} must be a list of paths, like ["variables.file"]')
        for path in paths:
            place_file(operations, path, file)
    return operations


class StrictGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app, answering a malformed envelope with a JSON GraphQL error."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except MutationOverGet as exc:
            response = request_error(exc.reason, exc.status_code, allow="POST")
        except HTTPException as exc:
            response = request_error(exc.reason, exc.status_code)
        except UNAVAILABLE_ERRORS as exc:
            log.warning("a backend service is unavailable before the operation runs: %r", exc)
            response = unavailable_error()
        await response(scope, receive, send)

    async def execute_operation(
        self, request: Any, request_adapter: Any, *args: Any, **kwargs: Any
    ) -> Any:
        try:
            return await super().execute_operation(request, request_adapter, *args, **kwargs)
        except HTTPException as exc:
            if request_adapter.method == "GET" and isinstance(
                exc.__cause__, InvalidOperationTypeError
            ):
                raise MutationOverGet from None
            raise

    def parse_json(self, data: str | bytes) -> Any:
        """The JSON request body: one object (a list is a batch, which is refused
        here with a JSON GraphQL error)."""
        value = load_json(data, "the request body")
        if isinstance(value, list):
            refuse(
                "batched requests are not supported: send one GraphQL request per HTTP request "
                '(a JSON object: {"query": "...", "variables": {...}})'
            )
        if not isinstance(value, dict):
            refuse('the request body must be a JSON object: {"query": "...", "variables": {...}}')
        return value

    def parse_query_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(params)
        for name in ("variables", "extensions"):
            if out.get(name):
                out[name] = load_json(out[name], f"the `{name}` parameter")
        return out

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, Any]:
        try:
            form = (await request.get_form_data()).form
        except MultiPartException as exc:
            refuse(f"the multipart body could not be parsed: {exc.message}")
        except (ValueError, KeyError, StarletteHTTPException):
            refuse("the multipart body could not be parsed")
        return operations_with_files(form)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData) and not isinstance(data.operation_name, str | None):
            refuse("the `operationName` must be a string or null, if provided")
        return data
