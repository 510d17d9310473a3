"""Automatic persisted queries (Apollo's protocol) and trusted documents."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from backend.graph.persisted import TRUSTED_FILE, document_hash, trusted_documents
from tests.graphql import error_codes, sign_up

ROOT = Path(__file__).resolve().parent.parent


def persisted(sha: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


async def test_apq_round_trip(client: httpx.AsyncClient) -> None:
    # A document no one sent before (a unique alias), by hash only: not found.
    query = f"{{ q{uuid.uuid4().hex[:12]}: __typename }}"
    sha = document_hash(query)
    miss = await client.post("/graphql", json={"extensions": persisted(sha)})
    assert miss.status_code == 200
    assert error_codes(miss.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    # The client retries with the document: it runs and is kept.
    full = await client.post("/graphql", json={"query": query, "extensions": persisted(sha)})
    assert error_codes(full.json()) == [] and full.json()["data"]
    # From now on the hash alone is enough, also as a GET (cacheable by a CDN).
    again = await client.post("/graphql", json={"extensions": persisted(sha)})
    assert again.json()["data"] == full.json()["data"]
    get = await client.get("/graphql", params={"extensions": json.dumps(persisted(sha))})
    assert get.status_code == 200 and get.json()["data"] == full.json()["data"]


async def test_apq_keeps_no_large_document(client: httpx.AsyncClient) -> None:
    from backend.graph.persisted import APQ_MAX_BYTES

    padding = " " * APQ_MAX_BYTES
    query = f"{{ q{uuid.uuid4().hex[:12]}: __typename }}{padding}"
    sha = document_hash(query)
    full = await client.post("/graphql", json={"query": query, "extensions": persisted(sha)})
    assert error_codes(full.json()) == []
    again = await client.post("/graphql", json={"extensions": persisted(sha)})
    assert error_codes(again.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_apq_refuses_a_wrong_hash_and_bad_envelopes(client: httpx.AsyncClient) -> None:
    wrong = await client.post(
        "/graphql", json={"query": "{ __typename }", "extensions": persisted("0" * 64)}
    )
    assert error_codes(wrong.json()) == ["BAD_USER_INPUT"]
    for bad in ({"version": 2, "sha256Hash": "0" * 64}, {"version": 1, "sha256Hash": "xyz"}, 7):
        response = await client.post("/graphql", json={"extensions": {"persistedQuery": bad}})
        assert response.status_code < 500
        assert error_codes(response.json()) == ["BAD_USER_INPUT"], (bad, response.text)


async def test_trusted_documents_are_known_by_hash(client: httpx.AsyncClient, unique: str) -> None:
    user = await sign_up(client, f"td_{unique}")
    documents = trusted_documents()
    feed = next(sha for sha, text in documents.items() if text.startswith("query Feed"))
    response = await client.post(
        "/graphql",
        json={"extensions": persisted(feed), "variables": {"first": 5}},
        headers={"Authorization": f"Bearer {user['token']}"},
    )
    assert error_codes(response.json()) == []
    assert response.json()["data"]["feed"]["edges"] == []


async def test_trusted_documents_only_mode(
    client: httpx.AsyncClient, unique: str, settings: Any
) -> None:
    settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY = True
    documents = trusted_documents()
    viewer = next(text for text in documents.values() if text.startswith("query Viewer"))
    # A trusted document runs, sent as text or by hash.
    as_text = await client.post("/graphql", json={"query": viewer})
    assert error_codes(as_text.json()) == [] and as_text.json()["data"] == {"viewer": None}
    by_hash = await client.post("/graphql", json={"extensions": persisted(document_hash(viewer))})
    assert by_hash.json()["data"] == {"viewer": None}
    # Anything else is refused, however it is sent, and APQ stores nothing.
    other = "{ __typename }"
    refused = await client.post("/graphql", json={"query": other})
    assert error_codes(refused.json()) == ["FORBIDDEN"]
    sha = document_hash(other)
    refused = await client.post("/graphql", json={"query": other, "extensions": persisted(sha)})
    assert error_codes(refused.json()) == ["FORBIDDEN"]
    unknown = await client.post("/graphql", json={"extensions": persisted(sha)})
    assert error_codes(unknown.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_trusted_documents_file_is_current() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "trusted_documents", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, (
        f"{TRUSTED_FILE.name} is stale: run `.venv/bin/python manage.py trusted_documents "
        f"--write`\n{done.stderr}"
    )
    assert len(json.loads(TRUSTED_FILE.read_text())) >= 15
