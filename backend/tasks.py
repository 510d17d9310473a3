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
