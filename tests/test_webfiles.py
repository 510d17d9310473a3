"""The built web client at /app/ and GraphiQL's files at /static/graphiql/
(backend/webfiles.py): served by the app, with a policy of this origin only."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from backend.webfiles import CLIENT_DIR


async def test_client_is_served_with_its_policy(client: httpx.AsyncClient) -> None:
    assert (CLIENT_DIR / "index.html").exists(), "scripts/client.sh build makes it (make up)"
    redirect = await client.get("/app")
    assert redirect.status_code == 308 and redirect.headers["location"] == "/app/"
    index = await client.get("/app/")
    assert index.status_code == 200 and 'id="root"' in index.text
    assert index.headers["cache-control"] == "no-cache"
    csp = index.headers["content-security-policy"]
    photos = urlsplit(settings.CDN_BASE_URL)
    assert f"img-src 'self' blob: {photos.scheme}://{photos.netloc}" in csp
    assert "script-src 'self';" in csp and "connect-src 'self';" in csp
    assert "unsafe" not in csp and "https:" not in csp
    # Vite's hashed bundles may be kept for good; every file the page names is there.
    assets = re.findall(r'(?:src|href)="(/app/[^"]+)"', index.text)
    assert any("/assets/" in a for a in assets)
    for path in assets:
        response = await client.get(path)
        assert response.status_code == 200, path
        if "/assets/" in path:
            assert "immutable" in response.headers["cache-control"]


async def test_graphiql_files_are_served_from_this_origin(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
    assert scripts and styles
    for path in scripts + styles:
        assert path.startswith("/static/graphiql/"), path
        response = await client.get(path)
        assert response.status_code == 200, path
    missing = await client.get("/static/graphiql/../../../pyproject.toml")
    assert missing.status_code == 404
