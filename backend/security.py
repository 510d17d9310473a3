"""Security headers on every answer of the ASGI app.

The API answers JSON, which no browser should render, frame or sniff into
something else: a Content-Security-Policy of `default-src 'none'`. GraphiQL
(an HTML page, on where settings.GRAPHIQL is) gets a policy that lets its
page load GraphiQL's scripts and styles from this origin (/static/graphiql/,
built from npm) and talk to this origin only. The web client (/app/,
backend/webfiles.py) gets one that allows its own files, and images from the
photo storage's origins (CDN_BASE_URL, S3_PUBLIC_ENDPOINT_URL).
Strict-Transport-Security where SECURE_HSTS_SECONDS is set (production).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from backend.limits import ASGIApp, Receive, Scope, Send

API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# GraphiQL's stylesheet embeds its fonts and icons as data: URLs, and its
# editor sets inline styles; its scripts are files of this origin only.
GRAPHIQL_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"font-src 'self' data:; img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def graphiql_csp() -> bytes:
    return GRAPHIQL_CSP


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def app_csp() -> bytes:
    """The web client's policy: its own scripts and styles, the API on this
    origin, photos from the storage's origins, upload previews from blob: URLs."""
    photo_origins = sorted(
        {
            o
            for o in (
                _origin(settings.CDN_BASE_URL),
                _origin(settings.S3_PUBLIC_ENDPOINT_URL or ""),
            )
            if o
        }
    )
    img = " ".join(["'self'", "blob:", *photo_origins])
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {img}; "
        "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ).encode()


def _headers(html: bool) -> tuple[tuple[bytes, bytes], ...]:
    return _made(html, int(settings.SECURE_HSTS_SECONDS))


@functools.cache
def _made(html: bool, hsts_seconds: int) -> tuple[tuple[bytes, bytes], ...]:
    headers = [*COMMON, (b"content-security-policy", GRAPHIQL_CSP if html else API_CSP)]
    if hsts_seconds:
        value = f"max-age={hsts_seconds}; includeSubDomains; preload".encode()
        headers.append((b"strict-transport-security", value))
    return tuple(headers)


def security_headers(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                html = any(
                    name.lower() == b"content-type" and value.startswith(b"text/html")
                    for name, value in message.get("headers", ())
                )
                extra = [(n, v) for n, v in _headers(html) if n not in present]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped
