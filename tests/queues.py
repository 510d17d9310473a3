"""Waiting for the stack's Dramatiq worker instead of sleeping."""

from __future__ import annotations

import asyncio
import json
import time

from backend.queue import broker
from backend.redisconn import async_client

QUEUE = "default"


async def pending(actors: set[str]) -> int:
    """Messages of `actors` queued, delayed (retries, delays) or being worked on:
    a message leaves its queue's `.msgs` hash only when the worker acks it."""
    client = async_client()
    count = 0
    for key in (f"{broker.namespace}:{QUEUE}.msgs", f"{broker.namespace}:{QUEUE}.DQ.msgs"):
        for raw in await client.hvals(key):  # type: ignore[misc]
            if json.loads(raw).get("actor_name") in actors:
                count += 1
    return count


async def drain(*actors: str, within: float = 30.0) -> None:
    """Wait until no message of these actors is left, retries included.

    Other tests' messages of the same actors count too (the queue is shared),
    so this may wait a little longer than needed, never shorter.
    """
    wanted = set(actors)
    deadline = time.monotonic() + within
    while await pending(wanted):
        assert time.monotonic() < deadline, f"messages of {sorted(wanted)} still pending"
        await asyncio.sleep(0.05)
