"""Refusing request bodies larger than any upload we accept.

An ASGI wrapper around everything: a declared Content-Length over the limit
is answered at once, and every body (chunked or not) is counted as it
arrives and cut off the moment it passes the limit, so nothing reads, parses
or spools more than the limit. Either way: 413 with a GraphQL-shaped
BAD_USER_INPUT error, and the connection is closed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from django.conf import settings

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Room for the multipart envelope and the GraphQL operation around the file.
ENVELOPE_BYTES = 1024 * 1024


class BodyTooLarge(BaseException):
    """Raised out of `receive` past the limit. A BaseException, so no handler
    on the way up (Starlette's form parser, Strawberry) turns it into a
    response of its own before the wrapper answers 413."""


def body_limit() -> int:
    return int(settings.PHOTO_MAX_BYTES) + ENVELOPE_BYTES


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "data": None,
            "errors": [
                {
                    "message": f"the request body is larger than {limit} bytes",
                    "extensions": {"code": "BAD_USER_INPUT"},
                }
            ],
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def limit_request_body(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        limit = body_limit()
        length = _declared_length(scope)
        if length is not None and length > limit:
            await _too_large(send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Mapping[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watching_send(message: Mapping[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send, limit)

    return wrapped
