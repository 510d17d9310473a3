"""Domain events through the outbox (backend/shards/outbox.py), against the
stack's real servers and Dramatiq worker, whose processes run the relay.

Serial tests freeze the worker processes (SIGSTOP, by the pid the stack
recorded) so that no relay but the test's own touches the outbox, and thaw
them (SIGCONT) afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings

from backend import runtime
from backend.feeds import feedstore
from backend.photos import photo_map
from backend.queue import broker
from backend.shards import db, moves, outbox, routing, topology
from backend.shards.ids import shard_of
from tests import imagegen
from tests.graphql import gql, sign_up, upload
from tests.queues import QUEUE, drain

ROOT = Path(__file__).resolve().parent.parent
FOLLOW = "mutation($id: ID!) { follow(userId: $id) { id } }"
FAN_OUT = ("fan_out_photo", "deliver_photo")


def _tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            found.extend(_tree(int(child)))
    return found


@contextmanager
def frozen_workers() -> Iterator[None]:
    """No Dramatiq worker (and so no relay) runs inside the block."""
    pid = int((Path(os.environ["STACK_DIR"]) / "run" / "worker.pid").read_text().split()[0])
    pids = _tree(pid)
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    try:
        yield
    finally:
        for p in pids:
            os.kill(p, signal.SIGCONT)


async def _events(kind: str, **where: Any) -> int:
    """Rows of `kind` in every shard server's outbox whose payload has `where`."""
    total = 0
    for server in db.servers():
        rows = await db.aexecute(
            server,
            f"SELECT count(*) AS n FROM {outbox.TABLE} WHERE kind = %s AND payload @> %s::jsonb",
            [kind, json.dumps(where)],
        )
        total += int(rows[0]["n"])
    return total


async def _queued(actor: str, photo_id: int) -> int:
    """Messages of `actor` about `photo_id` on the queue."""
    raw = await runtime.redis().hvals(f"{broker.namespace}:{QUEUE}.msgs")  # type: ignore[misc]
    return sum(
        1
        for m in map(json.loads, raw)
        if m["actor_name"] == actor and m["args"][1].get("photo_id") == photo_id
    )


def _relay_once(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.relay", "--once"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _author_and_follower(client: httpx.AsyncClient, unique: str) -> tuple[dict, dict]:
    author = await sign_up(client, f"oa_{unique}")
    reader = await sign_up(client, f"or_{unique}")
    await gql(client, FOLLOW, {"id": author["user"]["id"]}, token=reader["token"])
    await drain()
    # A feed exists only once read (fan-out skips readers who have none).
    for user in (author, reader):
        await gql(client, "{ feed { edges { node { id } } } }", token=user["token"])
    return author, reader


async def _feed_count(user: dict, photo_id: int) -> int:
    members = await runtime.redis().zrange(feedstore.feed_key(int(user["user"]["id"])), 0, -1)
    return feedstore.photo_ids(members).count(photo_id)


@pytest.mark.serial
async def test_a_relay_killed_between_enqueue_and_delete_loses_nothing(
    client: httpx.AsyncClient, unique: str
) -> None:
    author, reader = await _author_and_follower(client, unique)
    with frozen_workers():
        body = await upload(client, author["token"], imagegen.png_bytes(40, 40))
        photo_id = int(body["data"]["uploadPhoto"]["id"])
        # Committed with the photo, and nothing has sent it yet.
        assert await _events("photo.posted", photo_id=photo_id) == 1

        # A write that fails takes its event with it.
        async def fails(conn: Any, schema: str) -> None:
            await outbox.record(conn, shard_of(photo_id), "test.rolled_back", marker=unique)
            raise RuntimeError("the write fails after recording its event")

        with pytest.raises(RuntimeError):
            await routing.awrite(shard_of(photo_id), fails)
        assert await _events("test.rolled_back", marker=unique) == 0

        # A relay dies after handing the event to Dramatiq, before deleting it.
        died = _relay_once(OUTBOX_FAULT="exit-after-enqueue")
        assert died.returncode == 17, died.stdout + died.stderr
        assert await _queued("feeds_on_photo_posted", photo_id) == 1
        assert await _events("photo.posted", photo_id=photo_id) == 1, "the event was lost"

        # The next relay sends it again: at least once.
        again = _relay_once()
        assert again.returncode == 0, again.stdout + again.stderr
        assert await _queued("feeds_on_photo_posted", photo_id) == 2
        assert await _events("photo.posted", photo_id=photo_id) == 0
    await drain(*FAN_OUT)
    # Twice delivered, once in effect.
    assert await _feed_count(reader, photo_id) == 1
    assert await _feed_count(author, photo_id) == 1
    assert await photo_map.aget_owner(photo_id) == int(author["user"]["id"])


@pytest.mark.serial
async def test_events_of_a_moved_shard_still_arrive(client: httpx.AsyncClient, unique: str) -> None:
    author, reader = await _author_and_follower(client, unique)
    logical = shard_of(int(author["user"]["id"]))
    source = (await topology.refresh(force=True)).server_of(logical)
    target = next(s for s in db.servers() if s != source)
    with frozen_workers():
        body = await upload(client, author["token"], imagegen.png_bytes(41, 40))
        photo_id = int(body["data"]["uploadPhoto"]["id"])
        assert await _events("photo.posted", photo_id=photo_id) == 1
        report = await moves.move_shard(logical, target)
        assert report.target == target
        # The event stays in the source server's outbox, which the move leaves alone.
        assert await outbox.pending(source, logical=logical) >= 1
    await drain(*FAN_OUT)
    assert await _feed_count(reader, photo_id) == 1
    assert await photo_map.aget_owner(photo_id) == int(author["user"]["id"])
    await moves.move_shard(logical, source)  # as it was, for the other tests


async def test_a_commit_wakes_the_relay_at_once(client: httpx.AsyncClient, unique: str) -> None:
    """NOTIFY at commit, not the poll: the event is gone long before a poll."""
    author, reader = await _author_and_follower(client, unique)
    body = await upload(client, author["token"], imagegen.png_bytes(42, 40))
    photo_id = int(body["data"]["uploadPhoto"]["id"])
    started = time.monotonic()
    limit = settings.OUTBOX_POLL_SECONDS / 3
    while await _events("photo.posted", photo_id=photo_id):
        assert time.monotonic() - started < limit, "no relay woke on the commit"
        await asyncio.sleep(0.02)
    await drain(*FAN_OUT)
    assert await _feed_count(reader, photo_id) == 1


async def test_the_poll_finds_an_event_no_notify_announced(unique: str) -> None:
    """An event written without its NOTIFY (as when the relay was reconnecting)
    is sent by the next poll. Its kind has no consumer: the relay drops it."""
    server = db.servers()[0]
    await db.aexecute(
        server,
        f"INSERT INTO {outbox.TABLE} (logical, kind, payload) VALUES (0, %s, %s::jsonb)",
        ["test.unannounced", json.dumps({"marker": unique})],
    )
    deadline = time.monotonic() + settings.OUTBOX_POLL_SECONDS + 10
    while await _events("test.unannounced", marker=unique):
        assert time.monotonic() < deadline, "the poll never found the event"
        await asyncio.sleep(0.2)
