"""Which requests may read from the hot standbys (backend/shards/replicas.py).

Queries may, for the kinds `REPLICA_READS` names, unless the viewer wrote
within `REPLICA_AFTER_WRITE_SECONDS`: a user must see their own writes
(a comment just posted on someone else's photo, a like, a new bio), and a
standby may not have applied them yet. Mutations never do: what they read
is checked or returned right after their own write.

"Wrote recently" is a key in Redis per user, set after every mutation with
the window as its expiry, so it holds across app instances and devices.
Without Redis the viewer is treated as having written (the primaries answer).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from django.conf import settings
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from backend import runtime
from backend.shards import replicas

log = logging.getLogger(__name__)


def wrote_key(user_id: int) -> str:
    return f"wrote:{user_id}"


async def anote_write(user_id: int) -> None:
    """`user_id` just wrote: their reads use the primaries for a while."""
    try:
        await runtime.redis().set(
            wrote_key(user_id), b"1", px=int(settings.REPLICA_AFTER_WRITE_SECONDS * 1000)
        )
    except runtime.REDIS_UNAVAILABLE:
        # Their next reads find Redis down too, and read from the primaries.
        log.warning("could not note user %s's write in Redis", user_id)


async def awrote_recently(user_id: int) -> bool:
    try:
        return bool(await runtime.redis().exists(wrote_key(user_id)))
    except runtime.REDIS_UNAVAILABLE:
        return True


class ReplicaReads(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        if not settings.REPLICA_READS:
            yield
            return
        ctx = self.execution_context
        viewer_id: int | None = getattr(ctx.context, "viewer_id", None)
        try:
            operation = ctx.operation_type
        except RuntimeError:  # no such operation: execution answers the error
            yield
            return
        if operation != OperationType.QUERY:
            try:
                yield
            finally:
                if viewer_id is not None:
                    await anote_write(viewer_id)
            return
        if viewer_id is not None and await awrote_recently(viewer_id):
            yield
            return
        with replicas.allow_stale():
            yield
