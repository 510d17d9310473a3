"""Production posture: GraphiQL, introspection and suggestions off; security
headers; `check --deploy` clean; CORS by allow-list."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "backend.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "api.example.com",
}

# Runs in a process of its own under production settings: the schema and the
# ASGI app are built at import from the settings.
PROBE = """
import asyncio, json, httpx
from backend import runtime
from backend.asgi import application

async def main():
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.example.com") as c:
        intro = await c.post("/graphql", json={"query": "{ __schema { types { name } } }"})
        typo = await c.post("/graphql", json={"query": "{ viewr { id } }"})
        ide = await c.get("/graphql", headers={"Accept": "text/html"})
        ok = await c.post("/graphql", json={"query": "{ __typename }"})
        return {
            "introspection": intro.json(),
            "typo": typo.json(),
            "ide_status": ide.status_code,
            "ok": ok.json(),
            "headers": dict(ok.headers),
        }

print(json.dumps(runtime.run(main())))
"""


def _production(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *args]
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **PRODUCTION_ENV},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_introspection_graphiql_and_suggestions() -> None:
    done = _production(code=PROBE)
    assert done.returncode == 0, done.stderr[-3000:]
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    intro = seen["introspection"]
    assert intro["data"] is None
    assert {e["extensions"]["code"] for e in intro["errors"]} == {"BAD_USER_INPUT"}
    assert "introspection" in intro["errors"][0]["message"].lower()
    typo = seen["typo"]["errors"][0]["message"]
    assert "viewr" in typo and "Did you mean" not in typo
    assert seen["ide_status"] == 404
    assert seen["ok"]["data"] == {"__typename": "Query"}
    headers = seen["headers"]
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert headers["content-security-policy"].startswith("default-src 'none'")


def test_locally_graphiql_and_introspection_are_on() -> None:
    """Control: the same probe under the test settings sees all three."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["introspection"]["data"]["__schema"]["types"]
    assert "Did you mean" in seen["typo"]["errors"][0]["message"]
    assert seen["ide_status"] == 200


def test_check_deploy_is_clean_under_production_settings() -> None:
    done = _production("check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


async def test_security_headers_on_api_answers(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert (
        response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    ide = await client.get("/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 200
    # GraphiQL's files come from this origin (/static/graphiql/), never a CDN.
    ide_csp = ide.headers["content-security-policy"]
    assert "script-src 'self';" in ide_csp and "https:" not in ide_csp
    health = await client.get("/healthz")
    assert health.headers["x-frame-options"] == "DENY"


async def test_cors_allows_listed_origins_only(client: httpx.AsyncClient) -> None:
    allowed, other = "http://localhost:5173", "https://evil.example"
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    ok = await client.options("/graphql", headers={"Origin": allowed, **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == allowed
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    refused = await client.options("/graphql", headers={"Origin": other, **preflight})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    answer = await client.post("/graphql", json={"query": "{ __typename }"},
                               headers={"Origin": allowed})  # fmt: skip
    assert answer.headers["access-control-allow-origin"] == allowed
    answer = await client.post("/graphql", json={"query": "{ __typename }"},
                               headers={"Origin": other})  # fmt: skip
    assert "access-control-allow-origin" not in answer.headers
