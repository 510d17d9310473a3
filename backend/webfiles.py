"""The built web client at /app/ and GraphiQL's files at /static/graphiql/.

Both are files on disk that `make up` builds from npm packages
(frontend-sample/dist/, its graphiql/ folder): no CDN at run time. nginx in
front of the app may serve the same folders itself; these routes make the app
enough on its own (the `make up` stack, the browser tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from starlette.staticfiles import StaticFiles

from backend.limits import ASGIApp, Receive, Scope, Send
from backend.security import app_csp, graphiql_csp

CLIENT_DIR = Path(settings.BASE_DIR) / "frontend-sample" / "dist"
GRAPHIQL_DIR = CLIENT_DIR / "graphiql"
CLIENT_PREFIX = "/app"
GRAPHIQL_PREFIX = "/static/graphiql"

# Vite names what it writes under assets/ by content hash: safe to keep for good.
IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"
NOT_BUILT = b"The web client is not built: `make up` builds it (frontend-sample/README.md).\n"


def static_files(directory: Path, prefix: str, csp: bytes, *, html: bool) -> ASGIApp:
    files = StaticFiles(directory=directory, html=html, check_dir=False)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if not files.config_checked:
            # StaticFiles' own check (off the loop), until the folder exists.
            try:
                await files.check_config()
                files.config_checked = True
            except RuntimeError:
                headers = [(b"content-type", b"text/plain; charset=utf-8")]
                await send({"type": "http.response.start", "status": 404, "headers": headers})
                await send({"type": "http.response.body", "body": NOT_BUILT})
                return
        immutable = scope["path"].startswith(f"{prefix}/assets/")

        async def send_with_headers(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"content-security-policy", csp),
                    (b"cache-control", IMMUTABLE if immutable else REVALIDATE),
                ]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        # (Starlette types receive as returning a MutableMapping; ours is read-only.)
        await files({**scope, "root_path": prefix}, receive, send_with_headers)  # type: ignore[arg-type]

    return app


async def redirect_to_client(scope: Scope, receive: Receive, send: Send) -> None:
    headers = [(b"location", f"{CLIENT_PREFIX}/".encode()), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 308, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


client_files = static_files(CLIENT_DIR, CLIENT_PREFIX, app_csp(), html=True)
graphiql_files = static_files(GRAPHIQL_DIR, GRAPHIQL_PREFIX, graphiql_csp(), html=False)
