"""Domain events: who consumes which kind (the registry the outbox relay reads).

A domain that publishes an event names its kind in its own `events.py` and
records it with `backend.shards.outbox.record` in the transaction of the
write it reports. A domain that reacts declares a Dramatiq actor taking
`(kind, payload)` and subscribes it here:

    @subscribe(PHOTO_POSTED)
    @dramatiq.actor(...)
    async def on_photo_posted(kind: str, payload: dict[str, Any]) -> None: ...

Delivery is at least once (a relay that dies after enqueueing and before
deleting the event sends it again), so every consumer must be idempotent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

import dramatiq

Consumer = dramatiq.Actor[Any, Any]
A = TypeVar("A", bound=Consumer)

_consumers: dict[str, list[Consumer]] = defaultdict(list)


def subscribe(*kinds: str) -> Callable[[A], A]:
    """Register an actor as a consumer of the events of `kinds`."""

    def register(actor: A) -> A:
        for kind in kinds:
            if actor not in _consumers[kind]:
                _consumers[kind].append(actor)
        return actor

    return register


def consumers(kind: str) -> list[Consumer]:
    """The actors an event of `kind` goes to (none: the event is dropped)."""
    return list(_consumers.get(kind, ()))


def kinds() -> list[str]:
    """Every kind that has a consumer."""
    return sorted(_consumers)
