"""The Dramatiq broker (Redis), shared by web processes (enqueue) and workers.

Workers: actors are `async def` and run on one event loop per worker process
(Dramatiq's AsyncIO middleware: one loop thread that the actor threads hand
their coroutines to). `RuntimeLoop` opens this process's connections on that
loop when the worker boots and closes them when it shuts down. A time limit
cancels the actor's coroutine (Dramatiq cancels the future on its Interrupt);
it is never resumed later.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import redis
from django.conf import settings
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers import redis as dramatiq_redis
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from backend import runtime


class RuntimeLoop(AsyncIO):
    """AsyncIO's loop thread, with the runtime opened on it for the worker's life."""

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        super().before_worker_boot(broker, worker)
        thread = get_event_loop_thread()
        assert thread is not None
        thread.run_coroutine(runtime.start())

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        thread = get_event_loop_thread()
        if thread is not None and thread.loop.is_running():
            thread.run_coroutine(runtime.stop())
        super().after_worker_shutdown(broker, worker)


class RedisBroker(dramatiq_redis.RedisBroker):
    """Dramatiq's Redis broker, whose delayed messages survive a lost connection.

    A worker keeps the delayed messages it fetched (retries, delayed pushes:
    queue `<name>.DQ`) in memory until they are due, while Redis keeps their
    IDs in that worker's acks set. When its consumer loses the connection
    (Redis restarted), Dramatiq drops that memory and starts a new consumer;
    the IDs stay in the acks set of a worker that is still alive, which
    nothing requeues until the process exits (Bogdanp/dramatiq#527): every
    delayed message in flight was stuck until the next worker restart.

    A new consumer of a delay queue starts with nothing in memory, so every
    message this process's acks set holds for that queue is an orphan: it is
    put back on its queue before the consumer starts (at least once: one
    that was being moved to its queue at the moment of the failure may run
    twice; consumers are idempotent).
    """

    def do_requeue(self, queue_name: str, *message_ids: Any) -> None:
        """Put fetched messages back on their queue (a consumer closing, a
        worker stopping). With Redis unreachable they stay in this process's
        acks set: `consume` requeues a delay queue's on the next start, and
        Redis requeues the rest once this process is gone. Dramatiq lets the
        error escape its consumer thread's close(), which ends the thread: a
        delayed message falling due while Redis was down stopped every
        delayed message of the process for good."""
        try:
            self._dispatch("requeue")(queue_name, *message_ids)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.logger.warning(
                "Could not requeue %d messages of %r: %s", len(message_ids), queue_name, exc
            )

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        if queue_name.endswith(".DQ"):
            self._requeue_own_unacked(queue_name)
        return super().consume(queue_name, prefetch, timeout)

    def _requeue_own_unacked(self, queue_name: str) -> None:
        # The acks set's key, as Dramatiq's dispatch script names it.
        key = f"{self.namespace}:__acks__.{self.broker_id}.{queue_name}"
        try:
            orphans: set[bytes] = self.client.smembers(key)  # type: ignore[assignment]
            if orphans:
                self.logger.warning(
                    "Requeueing %d delayed messages of %r held before a lost connection.",
                    len(orphans),
                    queue_name,
                )
                self._dispatch("requeue")(queue_name, *orphans)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # The worker's consumer thread tries again a few seconds later.
            raise ConnectionClosed(exc) from None


broker = RedisBroker(
    url=settings.DRAMATIQ_BROKER_URL,
    namespace="photoshare-tasks",
    # Enqueues from a request must not hang when Redis does.
    socket_connect_timeout=2,
    socket_timeout=5,
    middleware=[
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(min_backoff=500, max_backoff=60_000, max_retries=10),
        RuntimeLoop(),
    ],
)
dramatiq.set_broker(broker)


async def enqueue(message: dramatiq.Message[Any], *, delay: int | None = None) -> None:
    """Put a message on its queue (`actor.message(...)`), `delay` ms later.

    Dramatiq's broker speaks sync redis-py: the one place it is called, in
    the runtime's thread bridge. Never on the read path.
    """
    await runtime.in_thread(broker.enqueue, message, delay=delay)
