"""The Dramatiq broker (Redis), shared by web processes (enqueue) and workers.

Workers: actors are `async def` and run on one event loop per worker process
(Dramatiq's AsyncIO middleware: one loop thread that the actor threads hand
their coroutines to). `RuntimeLoop` opens this process's connections on that
loop when the worker boots and closes them when it shuts down. A time limit
cancels the actor's coroutine (Dramatiq cancels the future on its Interrupt);
it is never resumed later.
"""

from __future__ import annotations

import threading
import time
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
    """Dramatiq's Redis broker, whose fetched messages survive a lost connection.

    Fetching a message moves its ID into this process's acks set in Redis
    (`__acks__.<broker_id>.<queue>`) until the worker acks it. Redis requeues
    an acks set only once its process stops sending heartbeats; while the
    process lives, Dramatiq assumes it holds every ID in there. It does not
    always (Bogdanp/dramatiq#527):

    - a fetch whose reply was lost with the connection (Redis killed after
      it ran the script; redis-py retries it on a new connection) left its
      IDs in the set, and no thread of this process ever saw them;
    - a consumer that lost its connection dropped the delayed messages it
      held in memory (queue `<name>.DQ`), their IDs staying in the set.

    Either way, the message waited for the worker's next restart: in the
    tests, every later drain of the queues failed.

    So the broker counts the messages its threads hold, from the moment a
    consumer hands one out until its ack or nack is through, and every
    `orphan_sweep_seconds` (and whenever a consumer starts) each consumer
    puts back on its queue the IDs of its acks set that no thread holds:
    orphans. At least once: a message moved to its queue at the moment of
    the failure may run twice; consumers are idempotent.
    """

    def __init__(self, *, orphan_sweep_seconds: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.orphan_sweep_seconds = orphan_sweep_seconds
        self._held: dict[str, set[str]] = {}
        self._held_lock = threading.Lock()

    @property
    def consumer_class(self) -> type[_Consumer]:
        return _Consumer

    def hold(self, queue_name: str, message_id: str) -> None:
        with self._held_lock:
            self._held.setdefault(queue_name, set()).add(message_id)

    def release(self, queue_name: str, *message_ids: str) -> None:
        with self._held_lock:
            self._held.get(queue_name, set()).difference_update(message_ids)

    def held(self, queue_name: str) -> frozenset[str]:
        with self._held_lock:
            return frozenset(self._held.get(queue_name, ()))

    def do_requeue(self, queue_name: str, *message_ids: Any) -> None:
        """Put fetched messages back on their queue (a consumer closing, a
        worker stopping). With Redis unreachable they stay in this process's
        acks set, for the next sweep (or for Redis, once this process is
        gone). Dramatiq lets the error escape its consumer thread's close(),
        which ends the thread: a delayed message falling due while Redis was
        down stopped every delayed message of the process for good."""
        try:
            self._dispatch("requeue")(queue_name, *message_ids)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.logger.warning(
                "Could not requeue %d messages of %r: %s", len(message_ids), queue_name, exc
            )

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        if queue_name.endswith(".DQ"):
            # A delay queue's consumer thread keeps what it fetched in memory
            # until it is due, and drops it when it starts a new consumer.
            with self._held_lock:
                self._held.pop(queue_name, None)
        self.requeue_orphans(queue_name)
        return super().consume(queue_name, prefetch, timeout)

    def requeue_orphans(self, queue_name: str) -> None:
        """Put back on `queue_name` the messages of this process's acks set
        that none of its threads holds. Called only by
        the queue's own consumer thread, between fetches, so every ID it
        fetched is held by then."""
        # The acks set's key, as Dramatiq's dispatch script names it.
        key = f"{self.namespace}:__acks__.{self.broker_id}.{queue_name}"
        try:
            members: set[bytes] = self.client.smembers(key)  # type: ignore[assignment]
            # Read after the set: an ID acked meanwhile is gone from both or
            # still held, and requeue skips an ID no longer in the set.
            held = self.held(queue_name)
            orphans = [m for m in members if m.decode() not in held]
            if orphans:
                self.logger.warning(
                    "Requeueing %d messages of %r that this worker fetched but no thread holds "
                    "(a lost connection).",
                    len(orphans),
                    queue_name,
                )
                self._dispatch("requeue")(queue_name, *orphans)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # The worker's consumer thread tries again a few seconds later.
            raise ConnectionClosed(exc) from None


class _Consumer(dramatiq_redis._RedisConsumer):
    """Dramatiq's Redis consumer, telling the broker which messages its
    threads hold, and sweeping the orphans between fetches."""

    broker: RedisBroker

    def __init__(self, broker: RedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)
        self._next_sweep = time.monotonic() + broker.orphan_sweep_seconds

    def __next__(self) -> Any:
        # With the cache empty, every message fetched so far was handed out.
        if not self.message_cache and time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + self.broker.orphan_sweep_seconds
            self.broker.requeue_orphans(self.queue_name)
        message = super().__next__()
        if message is not None:
            self.broker.hold(self.queue_name, message.options["redis_message_id"])
        return message

    def ack(self, message: Any) -> None:
        self._settle(super().ack, message)

    def nack(self, message: Any) -> None:
        self._settle(super().nack, message)

    def _settle(self, settle: Any, message: Any) -> None:
        try:
            settle(message)
        except redis.TimeoutError as exc:
            # As a connection error: Dramatiq retries the ack until it is
            # through (it gave up on anything else, leaving the ID behind).
            raise ConnectionClosed(exc) from None
        self.broker.release(self.queue_name, message.options["redis_message_id"])

    def requeue(self, messages: Any) -> None:
        messages = list(messages)
        try:
            super().requeue(messages)
        finally:
            # Requeued, or left to the next sweep: no thread holds them now.
            self.broker.release(self.queue_name, *(m.options["redis_message_id"] for m in messages))


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
