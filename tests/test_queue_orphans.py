"""Messages a worker fetched but none of its threads holds run anyway, while
the worker lives; a message a thread is still working on runs once.

Fetching moves a message's ID into the worker's acks set in Redis. When the
fetch's reply is lost with its connection (Redis killed after it ran the
script), the ID stays there and no thread of the worker ever sees it: before
`backend.queue.RedisBroker` swept such orphans, the message waited for the
worker's next restart, and every later drain of the queues in the fault
tests failed.

Issue 18, item 4; docs/decisions/0070-orphaned-queue-messages.md.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from django.conf import settings
from dramatiq import Worker

from backend.queue import RedisBroker, broker
from backend.tasks import heartbeat, heartbeat_key
from tests.frontier import wait_for


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.DRAMATIQ_BROKER_URL, socket_timeout=5)
    yield client
    client.close()


def _stack_worker_id(client: redis.Redis) -> str:
    """The broker ID of the stack's worker process: the one whose delay-queue
    acks set takes a delayed message (it holds them until they are due)."""
    probe = broker.enqueue(heartbeat.message(f"probe-{uuid.uuid4().hex}"), delay=10_000)
    rid = probe.options["redis_message_id"].encode()
    prefix = f"{broker.namespace}:__acks__."
    found: list[str] = []

    def fetched() -> bool:
        for key in client.scan_iter(f"{prefix}*.default.DQ"):
            if client.sismember(key, rid):
                found.append(key.decode()[len(prefix) : -len(".default.DQ")])
                return True
        return False

    wait_for(fetched, 30, "the stack's worker to fetch a delayed message")
    return found[0]


def test_the_stack_worker_runs_a_message_whose_fetch_reply_was_lost(client: redis.Redis) -> None:
    worker_id = _stack_worker_id(client)
    nonce = f"orphan-{uuid.uuid4().hex}"
    rid = str(uuid.uuid4())
    message = heartbeat.message(nonce).copy(options={"redis_message_id": rid})
    # What Dramatiq's fetch script leaves when its reply never arrives: the
    # message's data in the queue's hash, its ID in the worker's acks set and
    # no longer in the queue.
    client.hset(f"{broker.namespace}:default.msgs", rid, message.encode())  # type: ignore[arg-type]
    client.sadd(f"{broker.namespace}:__acks__.{worker_id}.default", rid)

    wait_for(lambda: bool(client.exists(heartbeat_key(nonce))), 30, "the orphaned message to run")
    wait_for(
        lambda: not client.hexists(f"{broker.namespace}:default.msgs", rid),
        30,
        "the orphaned message's ack",
    )


@pytest.fixture
def own_broker(client: redis.Redis) -> Iterator[RedisBroker]:
    """A broker of our class on the stack's Redis, in a namespace of its own,
    sweeping often; the keys are deleted afterwards."""
    namespace = f"test-orphans-{uuid.uuid4().hex}"
    own = RedisBroker(
        url=settings.DRAMATIQ_BROKER_URL,
        namespace=namespace,
        orphan_sweep_seconds=0.1,
        middleware=[],
    )
    yield own
    own.close()
    keys = list(client.scan_iter(f"{namespace}:*"))
    if keys:
        client.delete(*keys)


def _recording_actor(
    own: RedisBroker, seconds: float
) -> tuple[dramatiq.Actor[[str], None], list[str]]:
    runs: list[str] = []
    lock = threading.Lock()

    def record(value: str) -> None:
        time.sleep(seconds)
        with lock:
            runs.append(value)

    return dramatiq.actor(broker=own, actor_name="record")(record), runs


def _running(own: RedisBroker) -> Worker:
    worker = Worker(own, worker_threads=2, worker_timeout=100)
    worker.start()
    return worker


def test_a_message_fetched_before_a_lost_reply_runs_once_the_worker_starts(
    own_broker: RedisBroker, client: redis.Redis
) -> None:
    actor, runs = _recording_actor(own_broker, 0)
    own_broker.enqueue(actor.message("lost"))
    # This process fetches it, and the reply is "lost": dropped here.
    assert len(own_broker.do_fetch("default", 1)) == 1
    worker = _running(own_broker)
    try:
        wait_for(lambda: runs == ["lost"], 30, "the orphaned message to run")
        wait_for(
            lambda: not client.hlen(f"{own_broker.namespace}:default.msgs"),
            30,
            "the orphaned message's ack",
        )
    finally:
        worker.stop()


def test_a_message_still_being_worked_on_is_not_requeued(
    own_broker: RedisBroker, client: redis.Redis
) -> None:
    """A thread works on it across many sweeps (every 0.1 s); a sweep that
    took it for an orphan would run it a second time on the other thread."""
    actor, runs = _recording_actor(own_broker, 1.5)
    worker = _running(own_broker)
    try:
        own_broker.enqueue(actor.message("slow"))
        wait_for(lambda: runs == ["slow"], 30, "the message to run")
        wait_for(
            lambda: not client.hlen(f"{own_broker.namespace}:default.msgs"),
            30,
            "the message's ack",
        )
        time.sleep(2.0)  # a second run, had there been a requeue, would be done by now
        assert runs == ["slow"]
    finally:
        worker.stop()
