"""A Memcached killed while a call waits for its answer costs a miss, not the
process's event loop (backend/memcache.py's `_Client`; aiomcache#502).

The test runs a Memcached of its own (Debian's binary, on a free loopback
port) and kills it between two calls, while the loop is busy, so the next call
takes a pooled connection whose FIN it has not read yet. The calls run on a
loop in a thread of their own, so a spinning loop shows as a thread that never
finishes instead of hanging the test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from backend.memcache import Memcache

WITHIN = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def memcached() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    binary = shutil.which("memcached") or "/usr/bin/memcached"
    port = _free_port()
    args = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "16"]
    # memcached refuses to run as root without -u.
    proc = subprocess.Popen([*args, "-u", "nobody"] if os.geteuid() == 0 else args)
    deadline = time.monotonic() + WITHIN
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "memcached did not start"
            time.sleep(0.05)
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _run_in_thread(coro: Any) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = asyncio.run(coro)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("call", ["delete", "set", "get"])
def test_a_memcached_killed_between_calls_is_a_miss_and_the_loop_goes_on(
    memcached: tuple[subprocess.Popen[bytes], int], call: str
) -> None:
    proc, port = memcached
    cache = Memcache([f"127.0.0.1:{port}"])
    warm, killed = threading.Event(), threading.Event()

    async def scenario() -> list[Any]:
        await cache.set_many({"warm": 1}, ttl=60)  # a pooled connection exists
        assert await cache.get_many(["warm"]) == {"warm": 1}
        warm.set()
        # Block this loop while the server dies: its FIN waits unread, so the
        # pooled connection does not look closed when the next call takes it,
        # as on a busy process when Memcached is killed or restarted.
        assert killed.wait(WITHIN)
        first: Any = None
        if call == "delete":
            await cache.delete_many(["warm"])
        elif call == "set":
            await cache.set_many({"other": 2}, ttl=60)
        else:
            first = await cache.get_many(["warm"])
        await asyncio.sleep(0)  # and the loop runs other work afterwards
        second = await cache.get_many(["warm"])
        await cache.close()
        return [first, second]

    thread, outcome = _run_in_thread(scenario())
    assert warm.wait(WITHIN)
    proc.kill()
    proc.wait()
    time.sleep(0.1)  # the FIN has reached our socket
    killed.set()
    thread.join(WITHIN)
    assert not thread.is_alive(), f"memcached {call}: the loop spins after the server died"
    assert "error" not in outcome, outcome
    # Every failure is a miss: delete and set return nothing, get finds nothing.
    first, second = outcome["result"]
    assert first in (None, {})  # (None: a delete or set, which return nothing)
    assert second == {}
