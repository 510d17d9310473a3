"""Refusing request bodies larger than any upload we accept, before they are read.

An ASGI wrapper, not Django middleware: Django's ASGI handler reads (and
spools to disk) the whole body before any middleware runs.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Room for the multipart envelope and the GraphQL operation around the file.
ENVELOPE_BYTES = 1024 * 1024


def body_limit() -> int:
    return int(settings.PHOTO_MAX_BYTES) + ENVELOPE_BYTES


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


def limit_request_body(app: ASGIApp) -> ASGIApp:
    """413 (with a GraphQL-shaped BAD_USER_INPUT error) for a declared
    Content-Length over the limit; the body is never read."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        length = _declared_length(scope) if scope["type"] == "http" else None
        limit = body_limit()
        if length is not None and length > limit:
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
            return
        await app(scope, receive, send)

    return wrapped
