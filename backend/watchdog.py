"""A watchdog for an event loop that must keep answering.

A Dramatiq worker runs every actor and the outbox relay on one loop thread.
Code that spins without yielding on that loop (aiomcache did, on a Memcached
restart: backend/memcache.py) stops the whole worker, and nothing notices:
the process is alive, its heartbeats go on from other threads, no message
runs. Gunicorn kills a web worker that stops answering; Dramatiq has no such
check. `watch_loop` asks the loop, from a thread of its own, to run a no-op
every few seconds, reports how long each waited to run (`on_answer`: the
loop's lag, a metric) and calls `on_stuck` when one waits too long. The
worker (backend/worker.py) then logs the loop thread's stack and exits, and
Dramatiq's main process and our supervisor start it again.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from collections.abc import Callable


def watch_loop(
    loop: asyncio.AbstractEventLoop,
    *,
    stuck_after: float,
    every: float,
    stop: threading.Event,
    on_stuck: Callable[[], None],
    on_answer: Callable[[float], None] = lambda seconds: None,
) -> None:
    """Until `stop` is set: every `every` seconds, a no-op on `loop`, and
    `on_answer(seconds it waited)` once it ran; if it has not run within
    `stuck_after` seconds, `on_stuck()` once, and return."""
    while not stop.wait(every):
        answered, ran = threading.Event(), list[float]()
        sent = time.monotonic()
        try:
            loop.call_soon_threadsafe(_answer, answered, ran)
        except RuntimeError:  # the loop is closed: the worker is stopping
            return
        if answered.wait(stuck_after):
            on_answer(ran[0] - sent)
        elif not stop.is_set() and not loop.is_closed():
            on_stuck()
            return


def _answer(answered: threading.Event, ran: list[float]) -> None:
    ran.append(time.monotonic())
    answered.set()


def stack_of(thread_id: int | None) -> str:
    """The current stack of the thread `thread_id`, as a traceback's text."""
    frame = sys._current_frames().get(thread_id) if thread_id is not None else None
    return "".join(traceback.format_stack(frame)) if frame is not None else "(no such thread)"
