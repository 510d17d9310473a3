"""The event-loop watchdog (backend/watchdog.py), against real loops in
threads: quiet while the loop answers, calls on_stuck once when a callback
spins on it without yielding, and ends quietly when the loop is closed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from backend import watchdog

pytestmark = pytest.mark.unit

STUCK_AFTER = 0.5
EVERY = 0.05


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def _watch(
    loop: asyncio.AbstractEventLoop, lags: list[float] | None = None
) -> tuple[threading.Thread, threading.Event, list[float]]:
    """The watchdog on `loop` in a thread; when it calls on_stuck (seconds
    since the start, in the list returned); each answer's lag into `lags`."""
    stop, calls = threading.Event(), []
    started = time.monotonic()
    thread = threading.Thread(
        target=watchdog.watch_loop,
        args=(loop,),
        kwargs={
            "stuck_after": STUCK_AFTER,
            "every": EVERY,
            "stop": stop,
            "on_stuck": lambda: calls.append(time.monotonic() - started),
            "on_answer": (lags if lags is not None else []).append,
        },
        daemon=True,
    )
    thread.start()
    return thread, stop, calls


def test_a_loop_that_answers_is_left_alone(loop: asyncio.AbstractEventLoop) -> None:
    thread, stop, calls = _watch(loop)
    time.sleep(4 * STUCK_AFTER)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert calls == []


def test_a_loop_spinning_without_yielding_is_reported_once(
    loop: asyncio.AbstractEventLoop,
) -> None:
    release = threading.Event()

    def spin() -> None:  # what aiomcache did on EOF: never gives the loop back
        while not release.is_set():
            pass

    thread, _, calls = _watch(loop)
    time.sleep(2 * EVERY)
    loop.call_soon_threadsafe(spin)
    thread.join(10 * STUCK_AFTER)
    release.set()
    assert not thread.is_alive(), "the watchdog returns after reporting"
    assert len(calls) == 1, calls
    assert STUCK_AFTER <= calls[0] < 10 * STUCK_AFTER


def test_a_closed_loop_ends_the_watch_quietly() -> None:
    closed = asyncio.new_event_loop()
    closed.close()
    thread, _, calls = _watch(closed)
    thread.join(10)
    assert not thread.is_alive()
    assert calls == []


def test_the_stack_of_a_thread_names_where_it_is() -> None:
    here = watchdog.stack_of(threading.get_ident())
    assert "test_the_stack_of_a_thread_names_where_it_is" in here
    assert watchdog.stack_of(None) == "(no such thread)"


def test_each_answer_reports_how_long_the_loop_took(loop: asyncio.AbstractEventLoop) -> None:
    """The lag the metric records: near nothing on an idle loop, and at least
    the time a callback held the loop (0.3 s, under STUCK_AFTER)."""
    lags = list[float]()
    thread, stop, calls = _watch(loop, lags)
    time.sleep(10 * EVERY)
    idle = list(lags)
    loop.call_soon_threadsafe(time.sleep, 0.3)  # holds the loop
    time.sleep(0.3 + 10 * EVERY)
    stop.set()
    thread.join(10)
    assert calls == []
    assert len(idle) >= 3, idle
    assert max(idle) < 0.1, idle
    assert max(lags) >= 0.2, lags
