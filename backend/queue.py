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
from django.conf import settings
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
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
