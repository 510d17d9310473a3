"""Persisted queries: Apollo's automatic persisted queries (APQ), and trusted
documents.

APQ (`extensions.persistedQuery {version: 1, sha256Hash}`): a client first
sends only the hash; an unknown hash is answered `PERSISTED_QUERY_NOT_FOUND`
(message `PersistedQueryNotFound`, which Apollo Client looks for), and the
client sends the hash with the document, which is checked against the hash
and kept in Redis for APQ_TTL_SECONDS. Later requests send the hash alone.

Trusted documents: `backend/graph/trusted_documents.json` maps the SHA-256 of
each operation the clients use (`frontend-sample/operations/*.graphql`, made
by `manage.py trusted_documents --write`; a test keeps it current) to its
text. Those hashes are always known. With GRAPHQL_TRUSTED_DOCUMENTS_ONLY on
(a production mode), every other document is refused with FORBIDDEN, sent as
text or by hash, so the API runs only what the clients were built with.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

from django.conf import settings
from strawberry.extensions import SchemaExtension

from backend import runtime
from backend.errors import AppError, Forbidden, InvalidInput

TRUSTED_FILE = Path(__file__).resolve().parent / "trusted_documents.json"
OPERATIONS_DIR = Path(settings.BASE_DIR) / "frontend-sample" / "operations"
APQ_TTL_SECONDS = 7 * 24 * 3600
# Larger documents run but are not kept: Redis must not hold what anyone sends.
APQ_MAX_BYTES = 32 * 1024
HASH_RE = re.compile(r"[0-9a-f]{64}")


class PersistedQueryNotFound(AppError):
    code = "PERSISTED_QUERY_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def trusted_documents() -> dict[str, str]:
    if not TRUSTED_FILE.exists():
        return {}
    documents: dict[str, str] = json.loads(TRUSTED_FILE.read_text())
    return documents


def _key(sha: str) -> str:
    return f"apq:{sha}"


class PersistedQueries(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        persisted = (ctx.operation_extensions or {}).get("persistedQuery")
        trusted = trusted_documents()
        only_trusted = settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY
        if persisted is not None:
            sha = _check(persisted)
            if ctx.query is None:
                ctx.query = trusted.get(sha)
                if ctx.query is None and not only_trusted:
                    stored = await runtime.redis().get(_key(sha))
                    ctx.query = stored.decode() if stored is not None else None
                if ctx.query is None:
                    raise PersistedQueryNotFound
            elif document_hash(ctx.query) != sha:
                raise InvalidInput("persistedQuery.sha256Hash is not the SHA-256 of the query")
            elif sha not in trusted and not only_trusted and len(ctx.query) <= APQ_MAX_BYTES:
                await runtime.redis().set(_key(sha), ctx.query, ex=APQ_TTL_SECONDS)
        if only_trusted and ctx.query is not None and document_hash(ctx.query) not in trusted:
            raise Forbidden("this server runs only the documents its clients were built with")
        yield


def _check(persisted: object) -> str:
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise InvalidInput("persistedQuery must be {version: 1, sha256Hash: <hex>}")
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not HASH_RE.fullmatch(sha):
        raise InvalidInput("persistedQuery.sha256Hash must be 64 lower-case hex digits")
    return sha
