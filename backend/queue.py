"""The Dramatiq broker (Redis), shared by web processes (enqueue) and workers."""

from __future__ import annotations

import dramatiq
from django.conf import settings
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

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
    ],
)
dramatiq.set_broker(broker)
