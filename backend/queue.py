"""The Dramatiq broker (Redis), shared by web processes (enqueue) and workers."""

from __future__ import annotations

import dramatiq
from django.conf import settings
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)


class DjangoConnections(Middleware):
    """Give each message a fresh view of Django's database connections.

    Worker threads live for the process's lifetime and never see Django's
    request signals, so without this a thread would keep its directory
    connection forever, and one broken by a database restart would fail
    every later message on that thread.
    """

    def before_process_message(self, broker: object, message: object) -> None:
        from django.db import close_old_connections

        close_old_connections()

    def after_process_message(
        self,
        broker: object,
        message: object,
        *,
        result: object = None,
        exception: BaseException | None = None,
    ) -> None:
        from django.db import close_old_connections

        close_old_connections()


broker = RedisBroker(
    url=settings.DRAMATIQ_BROKER_URL,
    namespace="photoshare-tasks",
    middleware=[
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(min_backoff=500, max_backoff=60_000, max_retries=10),
        DjangoConnections(),
    ],
)
dramatiq.set_broker(broker)
