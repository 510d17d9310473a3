"""Dramatiq entry point: `dramatiq backend.worker`.

Sets Django up, configures the Redis broker and imports every domain's
tasks module so their actors (and the event consumers among them) are
registered. Every worker process also runs the outbox relay on its event
loop (backend/shards/outbox.py): a process that consumes events also makes
sure they are sent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from concurrent.futures import Future
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")
django.setup()

import dramatiq  # noqa: E402
from django.conf import settings  # noqa: E402
from dramatiq.asyncio import get_event_loop_thread  # noqa: E402

import backend.accounts.tasks  # noqa: E402
import backend.feeds.tasks  # noqa: E402
import backend.notifications.tasks  # noqa: E402
import backend.photos.tasks  # noqa: E402
import backend.social.tasks  # noqa: E402
import backend.tasks  # noqa: E402,F401  (registers the actors)
from backend import metrics, watchdog  # noqa: E402
from backend.queue import broker  # noqa: E402
from backend.shards import outbox  # noqa: E402

log = logging.getLogger(__name__)


class OutboxRelay(dramatiq.Middleware):
    """Runs `outbox.relay_forever` on the worker's loop for the worker's life."""

    def __init__(self) -> None:
        self.future: Future[None] | None = None

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        thread = get_event_loop_thread()
        assert thread is not None, "the RuntimeLoop middleware starts the loop first"
        self.future = asyncio.run_coroutine_threadsafe(outbox.relay_forever(), thread.loop)

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        if self.future is not None:
            self.future.cancel()


class LoopWatchdog(dramatiq.Middleware):
    """Ends this worker process when its event loop stops answering for
    WORKER_LOOP_STUCK_SECONDS (backend/watchdog.py): Dramatiq's main process
    then stops, and scripts/supervise.sh starts the workers again. Messages
    it had taken go back to their queues as after any crash."""

    EXIT_CODE = 70

    def __init__(self, stuck_after: float) -> None:
        self.stuck_after = stuck_after
        self.stop = threading.Event()

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        thread = get_event_loop_thread()
        assert thread is not None, "the RuntimeLoop middleware starts the loop first"

        def stuck() -> None:
            log.critical(
                "the worker's event loop has not answered for %g s; exiting so it "
                "is started again. The loop thread is at:\n%s",
                self.stuck_after,
                watchdog.stack_of(thread.ident),
            )
            sys.stderr.flush()
            os._exit(self.EXIT_CODE)

        threading.Thread(
            target=watchdog.watch_loop,
            args=(thread.loop,),
            kwargs={
                "stuck_after": self.stuck_after,
                "every": min(5.0, self.stuck_after),
                "stop": self.stop,
                "on_stuck": stuck,
                "on_answer": metrics.WORKER_LOOP_LAG.observe,
            },
            name="loop-watchdog",
            daemon=True,
        ).start()

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        self.stop.set()


if os.environ.get("OUTBOX_RELAY", "on") != "off":
    broker.add_middleware(OutboxRelay())
if settings.WORKER_LOOP_STUCK_SECONDS > 0:
    broker.add_middleware(LoopWatchdog(settings.WORKER_LOOP_STUCK_SECONDS))

# Per-actor message counts, durations, retries and errors, served by a
# process the Dramatiq CLI forks (on dramatiq_prom_host:dramatiq_prom_port),
# summed over every worker process with our own metrics (backend/metrics.py):
# all of them write to PROMETHEUS_MULTIPROC_DIR, the same directory as
# dramatiq_prom_db (scripts/monitoring.sh). Off unless the port is set: its
# default would listen on 0.0.0.0:9191.
if os.environ.get("dramatiq_prom_port"):  # noqa: SIM112  (Dramatiq's own name)
    from dramatiq.middleware.prometheus import Prometheus

    broker.add_middleware(Prometheus())
