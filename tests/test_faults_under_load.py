"""A server stopped by its pid in the middle of a write load, then started
again (serial: stops servers).

For each of a shard's PgBouncer, Memcached, Redis, the directory's
PostgreSQL and a shard's PostgreSQL: a few users like, comment and follow
through nginx and the app instances without pause; once some writes are
acknowledged the server is stopped by the pid the stack recorded, started
again (scripts/stack.sh servers) while the load goes on, and the load runs
until writes are acknowledged again. Then:

- no answer is an INTERNAL_SERVER_ERROR or anything but 200: the only error
  is UNAVAILABLE (the documented code for a server that is down);
- every write the API acknowledged (an answer with data and no error) is in
  the shards afterwards: the like, the comment, the follow and its mirror;
- writes are acknowledged again after the restart, with no manual step,
  and the work they left to the workers (events, their consumers, delayed
  pushes) is all done.

Issue 18, item 5; docs/decisions/0060-reads-that-degrade.md.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from backend.shards import routing
from backend.shards.ids import shard_of
from backend.social.models import COMMENT, FOLLOWER, FOLLOWING, LIKE, FollowStatus
from tests.frontier import RUN, running
from tests.graphql import error_codes
from tests.queues import drain
from tests.shardutil import start_stopped_servers, users_on_every_server
from tests.worlds import insert_photos

pytestmark = pytest.mark.serial

WRITERS = 4
TARGETS = 3
PHOTOS_PER_TARGET = 2
# Acknowledged writes before the stop, answers while the server is down,
# acknowledged writes after it is back.
BEFORE, DURING, AFTER = 8, 8, 8

LIKE_DOC = "mutation($id: ID!) { likePhoto(id: $id) { id likeCount } }"
COMMENT_DOC = "mutation($id: ID!, $t: String!) { addComment(photoId: $id, text: $t) { id } }"
FOLLOW_DOC = "mutation($id: ID!) { follow(userId: $id) { id } }"

ACTIVE = FollowStatus.ACTIVE.value

Op = tuple[str, int, int]  # (kind, writer's user ID, photo or target ID)


@dataclass
class Load:
    acked: list[tuple[Op, dict[str, Any]]] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)
    # When each answered request was sent, and whether it was acknowledged.
    answers: list[tuple[float, bool]] = field(default_factory=list)

    def sent_since(self, moment: float) -> list[bool]:
        return [ok for sent, ok in self.answers if sent >= moment]


def plan(photos: list[int], targets: list[int], shift: int) -> Iterator[tuple[str, int]]:
    """A writer's writes: each photo liked and commented, each target
    followed, interleaved; then comments only."""
    photos = photos[shift:] + photos[:shift]
    for n, photo in enumerate(photos):
        yield "like", photo
        yield "comment", photo
        if n < len(targets):
            yield "follow", targets[(n + shift) % len(targets)]
    for photo in itertools.cycle(photos):
        yield "comment", photo


async def write_loop(
    client: httpx.AsyncClient,
    writer: dict[str, Any],
    writes: Iterator[tuple[str, int]],
    load: Load,
    stop: asyncio.Event,
) -> None:
    user_id = int(writer["user"]["id"])
    headers = {"Authorization": f"Bearer {writer['token']}"}
    for n in itertools.count():
        if stop.is_set():
            return
        kind, target = next(writes)
        query, variables = {
            "like": (LIKE_DOC, {"id": str(target)}),
            "comment": (COMMENT_DOC, {"id": str(target), "t": f"w{user_id}-{n}"}),
            "follow": (FOLLOW_DOC, {"id": str(target)}),
        }[kind]
        sent = time.monotonic()
        try:
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
        except httpx.HTTPError as exc:
            load.bad.append(f"{kind}: {exc!r}")
            load.answers.append((sent, False))
            continue
        # 503: UNAVAILABLE for the whole request (the directory, which holds
        # the viewer's session, is down).
        json_answer = response.status_code in (200, 503)
        body = response.json() if json_answer else {}
        codes = error_codes(body)
        ok = response.status_code == 200 and not codes and bool(body.get("data"))
        load.answers.append((sent, ok))
        if not json_answer or (response.status_code == 503 and codes != ["UNAVAILABLE"]):
            load.bad.append(f"{kind}: HTTP {response.status_code} {response.text[:200]}")
        elif codes:
            load.codes.update(codes)
        elif ok:
            load.acked.append(((kind, user_id, target), body["data"]))
        else:
            load.bad.append(f"{kind}: {body}")


async def until(condition: Callable[[], bool], what: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def stop_by_pid(name: str, sig: signal.Signals) -> None:
    pid = int((RUN / f"{name}.pid").read_text().split()[0])
    os.kill(pid, sig)
    deadline = time.monotonic() + 30
    while running(pid):
        assert time.monotonic() < deadline, f"{name} did not stop"
        time.sleep(0.05)


async def assert_present(acked: list[tuple[Op, dict[str, Any]]]) -> None:
    """Every acknowledged write is in the shards."""
    missing = []
    for (kind, user_id, target), data in acked:
        if kind == "like":
            rows = await routing.aquery(
                shard_of(target),
                f'SELECT 1 FROM {{schema}}."{LIKE}" WHERE photo_id = %s AND user_id = %s',
                [target, user_id],
            )
        elif kind == "comment":
            comment_id = int(data["addComment"]["id"])
            rows = await routing.aquery(
                shard_of(comment_id),
                f'SELECT 1 FROM {{schema}}."{COMMENT}" WHERE id = %s AND author_id = %s',
                [comment_id, user_id],
            )
        else:  # the follow (truth, on the follower's shard) and its mirror
            truth = await routing.aquery(
                shard_of(user_id),
                f'SELECT 1 FROM {{schema}}."{FOLLOWING}" '
                "WHERE user_id = %s AND target_id = %s AND status = %s",
                [user_id, target, ACTIVE],
            )
            mirror = await routing.aquery(
                shard_of(target),
                f'SELECT 1 FROM {{schema}}."{FOLLOWER}" '
                "WHERE user_id = %s AND follower_id = %s AND status = %s",
                [target, user_id, ACTIVE],
            )
            rows = truth and mirror
        if not rows:
            missing.append((kind, user_id, target))
    assert missing == [], f"acknowledged but missing: {missing}"


@pytest.fixture(scope="module")
async def writers(edge_url: str) -> list[dict[str, Any]]:
    """The users who write, shared by every case (each case writes on fresh
    photos and follows fresh targets)."""
    async with httpx.AsyncClient(base_url=edge_url, timeout=30) as client:
        return await users_on_every_server(client, f"fw{os.urandom(4).hex()}", WRITERS)


SERVERS = [
    ("pgbouncer-shard1", signal.SIGKILL),
    ("memcached", signal.SIGKILL),
    ("redis", signal.SIGKILL),
    # SIGQUIT is PostgreSQL's immediate shutdown: every process exits at
    # once and the restart recovers from the WAL, as after a crash.
    ("pg-directory", signal.SIGQUIT),
    ("pg-shard2", signal.SIGQUIT),
]


@pytest.mark.parametrize(("server", "sig"), SERVERS, ids=[s for s, _ in SERVERS])
async def test_a_server_stopped_mid_load_costs_only_unavailable_answers_and_no_acknowledged_write(
    edge: httpx.AsyncClient,
    writers: list[dict[str, Any]],
    unique: str,
    server: str,
    sig: signal.Signals,
) -> None:
    targets = [
        int(u["user"]["id"]) for u in await users_on_every_server(edge, f"ft{unique}", TARGETS)
    ]
    photos = await insert_photos(targets, TARGETS * PHOTOS_PER_TARGET)
    load, stop = Load(), asyncio.Event()
    tasks = [
        asyncio.create_task(write_loop(edge, w, plan(photos, targets, n), load, stop))
        for n, w in enumerate(writers)
    ]
    try:
        await until(lambda: len(load.acked) >= BEFORE, "no write was acknowledged")
        await asyncio.to_thread(stop_by_pid, server, sig)
        stopped = time.monotonic()
        await until(lambda: len(load.sent_since(stopped)) >= DURING, "no answer while down")
        down = load.sent_since(stopped)
        await asyncio.to_thread(start_stopped_servers)
        restarted = time.monotonic()
        await until(
            lambda: sum(load.sent_since(restarted)) >= AFTER,
            f"writes were not acknowledged again after {server} was back",
        )
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    print(
        f"{server}: {len(load.answers)} answers, {len(load.acked)} acknowledged, "
        f"errors {dict(load.codes)}; sent while down: {len(down)}, {sum(down)} acknowledged; "
        f"down for {restarted - stopped:.1f} s"
    )
    assert load.bad == [], load.bad[:5]
    assert set(load.codes) <= {"UNAVAILABLE"}, load.codes
    await assert_present(load.acked)
    # And what the writes left to the workers gets done: every event relayed,
    # every consumer's message and every delayed push run (none stuck in a
    # worker that lost its connection).
    await drain("send_push", within=60)
