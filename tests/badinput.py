"""Helpers for the bad-input tests: what every answer to a malformed request must be."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest


def check_client_error(
    response: httpx.Response, *, status: int | None = None, code: str | None = "BAD_USER_INPUT"
) -> list[dict[str, Any]]:
    """The answer is GraphQL-shaped JSON, never a 500 or INTERNAL_SERVER_ERROR;
    every error has an extensions.code (and `code` is among them, if given)."""
    where = f"{response.request.method} -> {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500, where
    if status is not None:
        assert response.status_code == status, where
    assert response.headers.get("content-type", "").startswith("application/json"), where
    body = response.json()
    assert isinstance(body, dict) and ("data" in body or "errors" in body), where
    errors: list[dict[str, Any]] = body.get("errors") or []
    codes = [e.get("extensions", {}).get("code") for e in errors]
    assert all(codes), where
    assert "INTERNAL_SERVER_ERROR" not in codes, where
    assert all(isinstance(e.get("message"), str) and e["message"] for e in errors), where
    if code is not None:
        assert code in codes, where
    return errors


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]
