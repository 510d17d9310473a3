"""Reads degrade instead of failing while a server is down, and nothing fails
on a stale pooled connection once it is back (serial: stops servers by pid).

Issue 18, item 5; docs/decisions/0060-reads-that-degrade.md. Everything runs
against the stack's gunicorn (its own pools), with the servers stopped by the
pid the stack script recorded.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from backend import runtime
from backend.shards.ids import shard_of
from tests.frontier import running
from tests.graphql import error_codes, gql, sign_up
from tests.queues import drain
from tests.shardutil import placement, start_stopped_servers
from tests.worlds import PHOTO_FIELDS, insert_photos

pytestmark = pytest.mark.serial

FOLLOW = "mutation($id: ID!) { follow(userId: $id) { id } }"
LIKE = "mutation($id: ID!) { likePhoto(id: $id) { id likeCount viewerHasLiked } }"
FEED = f"{{ feed(first: 20) {{ edges {{ node {{ {PHOTO_FIELDS} }} }} }} }}"
PROFILE = """query($u: String!) { user(username: $u) {
  id username followerCount photos(first: 5) { edges { node { id likeCount } } }
  followers(first: 5) { edges { node { id username } } } } }"""


def _pid(name: str) -> int:
    return int((Path(os.environ["STACK_DIR"]) / "run" / f"{name}.pid").read_text().split()[0])


@contextmanager
def stopped(name: str, sig: signal.Signals = signal.SIGINT) -> Iterator[None]:
    """Stop the stack's server `name` (pg-shard2, redis, …) by its pid; start
    whatever is stopped again afterwards (scripts/stack.sh servers)."""
    pid = _pid(name)
    os.kill(pid, sig)
    deadline = time.monotonic() + 30
    while running(pid):
        assert time.monotonic() < deadline, f"{name} did not stop"
        time.sleep(0.05)
    try:
        yield
    finally:
        start_stopped_servers()


def flush_memcached() -> None:
    with socket.create_connection(("127.0.0.1", int(os.environ["MEMCACHED_PORT"])), 5) as s:
        s.sendall(b"flush_all\r\n")
        assert s.recv(64).startswith(b"OK")


async def _user_on(live: httpx.AsyncClient, server: str, prefix: str) -> dict[str, Any]:
    """Sign up until the account lands on `server`."""
    where = placement()
    for n in range(200):
        user = await sign_up(live, f"{prefix}{n}")
        if where[shard_of(int(user["user"]["id"]))] == server:
            return user
    raise AssertionError(f"no sign-up landed on {server}")


async def _world(live: httpx.AsyncClient, unique: str) -> dict[str, Any]:
    """A reader on shard1 following an author on each server (two photos each,
    the reader likes one of each author's), and a reader on shard1 who follows
    only the shard1 author."""
    reader = await _user_on(live, "shard1", f"r{unique}")
    local_reader = await _user_on(live, "shard1", f"l{unique}")
    near = await _user_on(live, "shard1", f"n{unique}")
    far = await _user_on(live, "shard2", f"f{unique}")
    for who, whom in ((reader, near), (reader, far), (local_reader, near)):
        body = await gql(live, FOLLOW, {"id": whom["user"]["id"]}, token=who["token"])
        assert "errors" not in body, body
    near_ids = await insert_photos([int(near["user"]["id"])], 2)
    far_ids = await insert_photos([int(far["user"]["id"])], 2)
    for photo_id in (near_ids[0], far_ids[0]):
        body = await gql(live, LIKE, {"id": str(photo_id)}, token=reader["token"])
        assert "errors" not in body, body
    return {
        "reader": reader,
        "local": local_reader,
        "near": near,
        "far": far,
        "near_ids": near_ids,
        "far_ids": far_ids,
    }


def _feed_ids(body: dict[str, Any]) -> list[int]:
    return [int(e["node"]["id"]) for e in body["data"]["feed"]["edges"]]


async def test_a_feed_and_profiles_degrade_while_a_shard_server_is_down(
    live: httpx.AsyncClient, unique: str
) -> None:
    world = await _world(live, unique)
    reader, local = world["reader"]["token"], world["local"]["token"]
    everything = sorted(world["near_ids"] + world["far_ids"], reverse=True)
    # The likes' events invalidate the photos' cache entries once more when
    # their consumer runs; let it run before the read that fills the caches.
    await drain()
    before = await gql(live, FEED, token=reader)  # also fills the caches
    assert "errors" not in before, before
    assert _feed_ids(before) == everything

    with stopped("pg-shard2"):
        # Photos and owners cached: every photo answers; only the fields that
        # need shard2 (the viewer's likes of far photos, their comments) are
        # null, each with its own UNAVAILABLE.
        body = await gql(live, FEED, token=reader)
        assert _feed_ids(body) == everything, body
        assert set(error_codes(body)) == {"UNAVAILABLE"}, body
        for edge in body["data"]["feed"]["edges"]:
            node = edge["node"]
            if int(node["id"]) in world["far_ids"]:
                assert node["viewerHasLiked"] is None and node["comments"] is None
            else:
                assert node["viewerHasLiked"] is (int(node["id"]) == world["near_ids"][0])
                assert node["comments"] is not None
        paths = {tuple(e["path"][-1:]) for e in body["errors"]}
        assert paths <= {("viewerHasLiked",), ("comments",)}, body

        # Nothing cached: the page holds what the live server has.
        flush_memcached()
        body = await gql(live, FEED, token=reader)
        assert "INTERNAL_SERVER_ERROR" not in error_codes(body), body
        assert _feed_ids(body) == sorted(world["near_ids"], reverse=True), body

        # A reader whose data is all on shard1 sees nothing wrong.
        body = await gql(live, FEED, token=local)
        assert "errors" not in body, body
        assert _feed_ids(body) == sorted(world["near_ids"], reverse=True)
        body = await gql(live, PROFILE, {"u": world["near"]["user"]["username"]}, token=local)
        assert "errors" not in body, body
        # The author on shard2: its profile is what is unavailable, for itself.
        body = await gql(live, PROFILE, {"u": world["far"]["user"]["username"]}, token=local)
        assert error_codes(body) and set(error_codes(body)) == {"UNAVAILABLE"}, body

        # A write that needs the server is refused with UNAVAILABLE.
        body = await gql(live, LIKE, {"id": str(world["far_ids"][1])}, token=reader)
        assert error_codes(body) == ["UNAVAILABLE"], body

    # Back: no request fails on a connection the restart left dead in a pool.
    failures = []
    for n in range(8):
        response = await live.post(
            "/graphql",
            json={
                "query": "mutation($u: String!, $p: String!) { signUp(username: $u, "
                "password: $p) { token } }",
                "variables": {"u": f"b{unique}{n}", "p": "correct horse battery"},
            },
        )
        if "errors" in response.json():
            failures.append(response.json())
    assert failures == []
    body = await gql(live, FEED, token=reader)
    assert "errors" not in body, body
    assert _feed_ids(body) == everything


def _servers_in_pool(server: str, database: str) -> int:
    """Server connections PgBouncer holds for `database` (SHOW POOLS)."""
    admin = make_conninfo(runtime.conninfo(server), dbname="pgbouncer")
    with psycopg.connect(admin, autocommit=True, row_factory=dict_row) as conn:
        pools = conn.execute("SHOW POOLS").fetchall()
    return sum(
        int(p["sv_active"]) + int(p["sv_idle"]) + int(p["sv_used"]) + int(p["sv_tested"])
        for p in pools
        if p["database"] == database
    )


def test_a_pool_reconnects_by_itself_once_its_server_is_back() -> None:
    """After its logins failed, a PgBouncer pool fails its clients fast and
    reconnects only when a client asks, so the first request after an outage
    failed even minutes later. With min_pool_size (deploy/pgbouncer.ini.template)
    PgBouncer reconnects every pool that has clients as soon as the server
    answers, and the next request goes through."""
    url = runtime.pool_conninfo("shard2", "nested")
    database = str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])
    with psycopg.connect(url, autocommit=True) as idle:  # a client, as the app's pools hold
        idle.execute("SELECT 1")
        with stopped("pg-shard2"):
            # A request while it is down: the pool's login fails.
            with (
                pytest.raises(psycopg.OperationalError),
                psycopg.connect(url, autocommit=True, connect_timeout=5) as conn,
            ):
                conn.execute("SELECT 1")
            start_stopped_servers(wait_for_pools=False)
            # No client asks; PgBouncer connects the pool by itself.
            deadline = time.monotonic() + 15
            while _servers_in_pool("shard2", database) == 0:
                assert time.monotonic() < deadline, f"{database}'s pool did not reconnect"
                time.sleep(0.2)
            # And the first request after the outage goes through.
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
