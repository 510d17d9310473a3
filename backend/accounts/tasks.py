"""Dramatiq actors of the accounts domain (thin: they call services), and its
consumers of events (backend/events.py)."""

from __future__ import annotations

from typing import Any

import dramatiq

from backend import queue  # noqa: F401  (the broker must be set before actors are declared)
from backend.accounts.events import PROFILE_NAME_CHANGED
from backend.accounts.services import do_index_user_name
from backend.events import subscribe

Payload = dict[str, Any]


@subscribe(PROFILE_NAME_CHANGED)
@dramatiq.actor(max_retries=20, min_backoff=500, max_backoff=60_000)
async def accounts_on_name_changed(kind: str, payload: Payload) -> None:
    """searchUsers finds the user by their new name (idempotent: reads the name itself)."""
    await do_index_user_name(user_id=int(payload["user_id"]))
