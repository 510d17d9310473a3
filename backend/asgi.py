"""ASGI entry point: gunicorn runs it with uvicorn workers.

A small router in front of everything (docs/decisions/0010-runtime.md):
- `lifespan`: opens this process's connections at startup and closes them
  at shutdown (backend/runtime.py);
- `/graphql`: Strawberry's ASGI app;
- `/healthz`, `/readyz`: answered here;
- `/metrics`: Prometheus' scrape of this instance (backend/metrics.py);
- `/app/`: the built web client, `/static/graphiql/`: GraphiQL's files
  (backend/webfiles.py);
- anything else: Django's ASGI handler.

Around it: the body limit (backend/limits.py), CORS for the origins in
CORS_ALLOWED_ORIGINS (Starlette's middleware answers preflights), and the
security headers (backend/security.py).

Django's handler is not on the API's path: it sends its request signals and
closes each response through `sync_to_async`, two thread hops per request.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

django_application = get_asgi_application()

from django.conf import settings  # noqa: E402
from starlette.middleware.cors import CORSMiddleware  # noqa: E402

from backend import health, metrics, runtime  # noqa: E402  (needs settings)
from backend.graph.views import graphql_app  # noqa: E402
from backend.limits import ASGIApp, Receive, Scope, Send, limit_request_body  # noqa: E402
from backend.security import security_headers  # noqa: E402
from backend.webfiles import (  # noqa: E402
    CLIENT_PREFIX,
    GRAPHIQL_PREFIX,
    client_files,
    graphiql_files,
    redirect_to_client,
)

log = logging.getLogger(__name__)

JSON_HEADERS = [(b"content-type", b"application/json")]


def _json_endpoint(
    answer: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        status, payload = await answer()
        body = json.dumps(payload).encode()
        headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def metrics_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    # Reading the files of every worker is a few ms of blocking I/O, once
    # per scrape (every 15 s): not worth a thread hop.
    body, content_type = metrics.exposition()
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await runtime.start()
            except Exception as exc:
                log.exception("startup failed")
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await runtime.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


ROUTES: dict[str, ASGIApp] = {
    "/graphql": graphql_app,  # type: ignore[dict-item]
    "/graphql/": graphql_app,  # type: ignore[dict-item]
    "/healthz": _json_endpoint(health.healthz),
    "/readyz": _json_endpoint(health.readyz),
    "/metrics": metrics_endpoint,
    CLIENT_PREFIX: redirect_to_client,
}
# Folders of files, by path prefix.
PREFIXES: tuple[tuple[str, ASGIApp], ...] = (
    (f"{CLIENT_PREFIX}/", client_files),
    (f"{GRAPHIQL_PREFIX}/", graphiql_files),
)


def _route(path: str) -> ASGIApp | None:
    app = ROUTES.get(path)
    if app is not None:
        return app
    for prefix, files in PREFIXES:
        if path.startswith(prefix):
            return files
    return None


async def router(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
        return
    app = _route(scope.get("path", ""))
    if app is None:
        await django_application(dict(scope), receive, send)
        return
    await app(scope, receive, send)


application: ASGIApp = limit_request_body(
    CORSMiddleware(
        security_headers(router),  # type: ignore[arg-type]
        allow_origins=settings.CORS_ALLOWED_ORIGINS,
        allow_methods=["GET", "POST"],
        allow_headers=["authorization", "content-type", "apollo-require-preflight"],
        expose_headers=["retry-after"],
        max_age=600,
    )
)

if settings.SENTRY_DSN:
    from sentry_sdk.integrations.asgi import SentryAsgiMiddleware

    # One Sentry scope per request (backend/sentry.py), outermost.
    application = SentryAsgiMiddleware(application)
