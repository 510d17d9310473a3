"""Waiting for the stack's outbox relay and Dramatiq worker instead of sleeping."""

from __future__ import annotations

import asyncio
import json
import time

import backend.worker  # noqa: F401  (registers every actor and event consumer)
from backend import events, runtime
from backend.queue import broker
from backend.shards import db, outbox

QUEUE = "default"


def consumer_names() -> set[str]:
    """Every actor that consumes an event (they queue the others' messages)."""
    return {actor.actor_name for kind in events.kinds() for actor in events.consumers(kind)}


async def pending(actors: set[str]) -> int:
    """Messages of `actors` queued, delayed (retries, delays) or being worked on:
    a message leaves its queue's `.msgs` hash only when the worker acks it."""
    client = runtime.redis()
    count = 0
    for key in (f"{broker.namespace}:{QUEUE}.msgs", f"{broker.namespace}:{QUEUE}.DQ.msgs"):
        for raw in await client.hvals(key):  # type: ignore[misc]
            if json.loads(raw).get("actor_name") in actors:
                count += 1
    return count


async def unrelayed() -> int:
    """Events in the shard servers' outboxes that the relay has not sent yet."""
    return sum([await outbox.pending(server) for server in db.servers()])


async def drain(*actors: str, within: float = 30.0) -> None:
    """Wait until every event is relayed and no message of these actors (or of
    the event consumers, which queue them) is left, retries included.

    Other tests' events and messages count too (the outbox and queue are
    shared), so this may wait a little longer than needed, never shorter.
    """
    wanted = set(actors) | consumer_names()
    deadline = time.monotonic() + within
    while await unrelayed() or await pending(wanted):
        assert time.monotonic() < deadline, f"events or messages of {sorted(wanted)} still pending"
        await asyncio.sleep(0.05)
