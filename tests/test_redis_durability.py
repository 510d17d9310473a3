"""Redis keeps what it acknowledged: the primary's AOF (fsynced before it
answers) and its replica (serial: stops Redis and pauses the workers by pid).

Issue 18, item 4; docs/decisions/0065-redis-replica-and-aof.md.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import redis

from backend.queue import broker
from backend.tasks import heartbeat, heartbeat_key
from tests.frontier import LOG, RUN, child_pid, descendants, running
from tests.shardutil import start_stopped_servers

pytestmark = pytest.mark.serial

DELAY_MS = 4_000


def _redis(port_var: str) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=int(os.environ[port_var]), socket_timeout=5)


def _replication(client: redis.Redis) -> dict[str, object]:
    info: dict[str, object] = client.info("replication")  # type: ignore[assignment]
    return info


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def assert_replica_in_sync() -> None:
    """The replica streams from the primary and has a write made just now."""
    primary, replica = _redis("REDIS_PORT"), _redis("REDIS_REPLICA_PORT")

    def online() -> bool:
        info = _replication(primary)
        slave = info.get("slave0")
        return (
            _replication(replica).get("master_link_status") == "up"
            and isinstance(slave, dict)
            and slave.get("state") == "online"
            and int(slave.get("port", 0)) == int(os.environ["REDIS_REPLICA_PORT"])
        )

    _wait(online, "the replica is not streaming from the primary")
    assert _replication(replica)["role"] == "slave"
    assert _replication(replica)["master_port"] == int(os.environ["REDIS_PORT"])
    key, value = f"replica-probe:{uuid.uuid4().hex}", uuid.uuid4().hex
    primary.set(key, value, ex=60)
    # WAIT: the replica acknowledged every write of this connection so far.
    assert primary.wait(1, 5_000) == 1
    assert replica.get(key) == value.encode()
    # And it has everything the primary had a moment ago. (Not equality: the
    # workers write meanwhile, so two INFO calls never see one instant.)
    offset = int(str(_replication(primary)["master_repl_offset"]))
    _wait(
        lambda: int(str(_replication(replica)["slave_repl_offset"])) >= offset,
        f"the replica did not reach the primary's offset {offset}",
    )


def test_the_replica_is_connected_and_in_sync() -> None:
    assert_replica_in_sync()


@contextmanager
def workers_paused() -> Iterator[None]:
    """The Dramatiq processes stopped (SIGSTOP) by pid: nothing consumes."""
    pids = sorted(descendants(child_pid("worker")))
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def _worker_log_size() -> int:
    return (LOG / "worker.log").stat().st_size


def _worker_logged_since(offset: int, text: str) -> bool:
    with (LOG / "worker.log").open("rb") as f:
        f.seek(offset)
        return text.encode() in f.read()


def stop_redis(sig: signal.Signals) -> None:
    pid = int((RUN / "redis.pid").read_text().split()[0])
    os.kill(pid, sig)
    _wait(lambda: not running(pid), "redis did not stop")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_the_queue_loses_no_acknowledged_message_across_a_redis_restart(
    sig: signal.Signals,
) -> None:
    """Messages Redis acknowledged and no worker has run yet all run after
    Redis is stopped by pid (SIGTERM, or SIGKILL: no chance to write anything
    more) and started again: ready ones queued while the workers were paused,
    and delayed ones the worker had fetched and held, waiting for their time,
    when it lost its connection. The workers reconnect by themselves (the same
    process runs them afterwards)."""
    client = _redis("REDIS_PORT")
    worker = child_pid("worker")
    delayed = [f"delayed-{uuid.uuid4().hex}" for _ in range(20)]
    ready = [f"ready-{uuid.uuid4().hex}" for _ in range(20)]
    for nonce in delayed:
        broker.enqueue(heartbeat.message(nonce), delay=DELAY_MS)
    # The worker fetched them all and holds them until they are due.
    _wait(
        lambda: client.llen(f"{broker.namespace}:default.DQ") == 0,
        "the worker did not fetch the delayed messages",
    )
    offset = _worker_log_size()
    with workers_paused():
        for nonce in ready:
            broker.enqueue(heartbeat.message(nonce))
        # Acknowledged by Redis, run by nobody yet.
        assert not client.exists(*(heartbeat_key(n) for n in delayed + ready))
        stop_redis(sig)
    try:
        # The running worker sees Redis gone (and drops what it held in memory).
        _wait(
            lambda: _worker_logged_since(offset, "ConsumerThread(default.DQ) Consumer encountered"),
            "the worker did not notice that Redis was gone",
        )
    finally:
        start_stopped_servers()

    def all_ran() -> bool:
        return client.exists(*(heartbeat_key(n) for n in delayed + ready)) == len(delayed + ready)

    _wait(all_ran, "messages acknowledged before the restart were lost")
    assert child_pid("worker") == worker, "the workers were restarted, not reconnected"
    assert_replica_in_sync()


def test_delayed_messages_falling_due_while_redis_is_down_still_run() -> None:
    """The worker holds delayed messages; Redis goes away and they fall due
    meanwhile (the workers paused, so nothing notices before): moving them
    to their queue fails. They run once Redis is back, and the worker's
    delayed messages keep running afterwards."""
    client = _redis("REDIS_PORT")
    nonces = [f"due-{uuid.uuid4().hex}" for _ in range(10)]
    for nonce in nonces:
        broker.enqueue(heartbeat.message(nonce), delay=1_000)
    due = time.monotonic() + 1.0
    _wait(
        lambda: client.llen(f"{broker.namespace}:default.DQ") == 0,
        "the worker did not fetch the delayed messages",
    )
    offset = _worker_log_size()
    with workers_paused():
        assert not client.exists(*(heartbeat_key(n) for n in nonces))
        stop_redis(signal.SIGKILL)
        _wait(lambda: time.monotonic() > due + 0.2, "they did not fall due")
    try:
        _wait(
            lambda: _worker_logged_since(offset, "ConsumerThread(default.DQ) Consumer encountered"),
            "the worker did not notice that Redis was gone",
        )
    finally:
        start_stopped_servers()
    _wait(
        lambda: client.exists(*(heartbeat_key(n) for n in nonces)) == len(nonces),
        "delayed messages that fell due while Redis was down never ran",
    )
    later = f"later-{uuid.uuid4().hex}"
    broker.enqueue(heartbeat.message(later), delay=100)
    _wait(lambda: bool(client.exists(heartbeat_key(later))), "delayed messages stopped running")
