"""Process-level actors (domain actors live in backend/<domain>/tasks.py)."""

from __future__ import annotations

import os

import dramatiq

from backend import (
    queue,  # noqa: F401  (the broker must be set before actors are declared)
    runtime,
)

HEARTBEAT_TTL = 60


def heartbeat_key(nonce: str) -> str:
    return f"worker:heartbeat:{nonce}"


@dramatiq.actor(max_retries=0, time_limit=10_000)
async def heartbeat(nonce: str) -> None:
    """Proves a worker consumes the queue: records which process ran it."""
    await runtime.redis().set(heartbeat_key(nonce), os.getpid(), ex=HEARTBEAT_TTL)


class ErrorReportDrill(RuntimeError):
    """Raised on purpose by `error_report_drill`."""


@dramatiq.actor(max_retries=0, time_limit=10_000)
async def error_report_drill(note: str) -> None:
    """Fails on purpose, once (no retries): proves a worker's errors reach
    Sentry (tests/test_sentry.py; an operator may send it after setting
    SENTRY_DSN). `note` is never reported (backend/sentry.py drops message
    arguments), so the check can prove that too."""
    raise ErrorReportDrill("error report drill: this actor always fails")
