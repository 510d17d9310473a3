"""The runtime: one owner of loops and connections per process.

- The read path makes no thread hop (sync_to_async, to_thread, executors).
- Commands run on one loop, exit promptly and close what they opened.
- `seed_demo`, as `make up` runs it, finishes every time and leaves what the
  README promises.
- Connections stay within the pools' bounds after many requests and commands.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from asgiref.sync import SyncToAsync

from backend.shards import db
from tests.graphql import gql, sign_up, upload
from tests.imagegen import phone_jpeg

ROOT = Path(__file__).resolve().parent.parent

FEED = """query { feed(first: 20) { edges { cursor node {
  id caption url(size: MEDIUM) likeCount commentCount viewerHasLiked owner { id username }
} } pageInfo { hasNextPage endCursor } } }"""
PROFILE = """query($u: String!) { user(username: $u) {
  id username fullName bio isPrivate followerCount followingCount photoCount viewerFollows
  photos(first: 12) { edges { node { id url(size: THUMBNAIL) likeCount commentCount } }
    pageInfo { hasNextPage endCursor } }
} }"""
PHOTO = """query($id: ID!) { photo(id: $id) {
  id caption likeCount commentCount viewerHasLiked owner { id username }
  comments(first: 20) { edges { node { id text createdAt author { id username } } }
    pageInfo { hasNextPage endCursor } }
} }"""
ACTIVITY = """query { activity(first: 20) { edges { node {
  id kind createdAt actor { id username } photo { id url(size: THUMBNAIL) }
} } pageInfo { hasNextPage endCursor } } }"""
DEMO_USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]


@pytest.fixture
async def hops(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Counter[str]]:
    """Counts every way this process can move work to a thread."""
    counter: Counter[str] = Counter()
    loop_type = type(asyncio.get_running_loop())
    original_executor = loop_type.run_in_executor
    original_to_thread = asyncio.to_thread
    original_s2a = SyncToAsync.__call__

    def run_in_executor(self: Any, *args: Any, **kwargs: Any) -> Any:
        counter["run_in_executor"] += 1
        return original_executor(self, *args, **kwargs)

    async def to_thread(*args: Any, **kwargs: Any) -> Any:
        counter["to_thread"] += 1
        return await original_to_thread(*args, **kwargs)

    async def s2a_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        counter["sync_to_async"] += 1
        return await original_s2a(self, *args, **kwargs)

    monkeypatch.setattr(loop_type, "run_in_executor", run_in_executor)
    monkeypatch.setattr(asyncio, "to_thread", to_thread)
    monkeypatch.setattr(SyncToAsync, "__call__", s2a_call)
    yield counter


async def _read_path_data(client: httpx.AsyncClient, unique: str) -> dict[str, Any]:
    author = await sign_up(client, f"ha_{unique}")
    reader = await sign_up(client, f"hr_{unique}")
    await gql(
        client,
        "mutation($id: ID!) { follow(userId: $id) { id } }",
        {"id": author["user"]["id"]},
        token=reader["token"],
    )
    body = await upload(client, author["token"], phone_jpeg(640, 480, seed=3), caption="hops")
    photo_id = body["data"]["uploadPhoto"]["id"]
    await gql(
        client,
        "mutation($id: ID!) { likePhoto(id: $id) { id } }",
        {"id": photo_id},
        token=reader["token"],
    )
    await gql(
        client,
        'mutation($id: ID!) { addComment(photoId: $id, text: "nice") { id } }',
        {"id": photo_id},
        token=reader["token"],
    )
    return {"author": author, "reader": reader, "photo": photo_id}


async def test_read_path_makes_no_thread_hop(
    client: httpx.AsyncClient, unique: str, hops: Counter[str]
) -> None:
    data = await _read_path_data(client, unique)
    reader, author = data["reader"]["token"], data["author"]["token"]
    queries = {
        "feed": (FEED, {}, reader),
        "profile": (PROFILE, {"u": f"ha_{unique}"}, reader),
        "photo": (PHOTO, {"id": data["photo"]}, reader),
        "activity": (ACTIVITY, {}, author),
    }
    for name, (query, variables, token) in queries.items():
        for _ in range(2):  # cold (cache fill) and warm
            hops.clear()
            body = await gql(client, query, variables, token=token)
            assert "errors" not in body, (name, body)
            assert body["data"], name
            assert hops == Counter(), f"{name}: thread hops {dict(hops)}"
    # The same data really went through: the feed holds the photo, activity the like.
    feed = await gql(client, FEED, token=reader)
    assert [e["node"]["id"] for e in feed["data"]["feed"]["edges"]] == [data["photo"]]
    activity = await gql(client, ACTIVITY, token=author)
    kinds = {e["node"]["kind"] for e in activity["data"]["activity"]["edges"]}
    assert {"LIKE", "COMMENT", "FOLLOW"} <= kinds


async def test_the_hop_counter_sees_a_hop(
    client: httpx.AsyncClient, unique: str, hops: Counter[str]
) -> None:
    """Control: a sign-up hashes its password in a thread, and the counter sees it."""
    await sign_up(client, f"hc_{unique}")
    assert hops["run_in_executor"] >= 1


def _manage(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.serial
def test_seed_demo_as_make_up_runs_it_finishes_every_time() -> None:
    for attempt in range(5):
        started = time.monotonic()
        done = _manage("seed_demo", "--json", timeout=60)
        assert done.returncode == 0, (attempt, done.stderr[-2000:])
        assert "error connecting" not in done.stderr, done.stderr[-2000:]
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        assert summary["users"] == DEMO_USERS
        assert time.monotonic() - started < 60


@pytest.mark.serial
async def test_demo_accounts_are_as_the_readme_says(live: httpx.AsyncClient) -> None:
    """After seed_demo: alice … frank sign in with the documented password, have
    photos, follow each other, and see photos in their feed at once."""
    done = await asyncio.to_thread(_manage, "seed_demo", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    for name in DEMO_USERS:
        body = await gql(
            live,
            'mutation($u: String!) { logIn(username: $u, password: "demo-password") { token } }',
            {"u": name},
        )
        assert "errors" not in body, (name, body)
        token = body["data"]["logIn"]["token"]
        viewer = await gql(
            live, "{ viewer { photoCount followingCount followerCount } }", token=token
        )
        me = viewer["data"]["viewer"]
        assert me["photoCount"] >= 1, (name, me)
        assert me["followingCount"] >= len(DEMO_USERS) - 1, (name, me)
        assert me["followerCount"] >= len(DEMO_USERS) - 1, (name, me)
        feed = await gql(live, FEED, token=token)
        owners = {e["node"]["owner"]["username"] for e in feed["data"]["feed"]["edges"]}
        assert len(owners & set(DEMO_USERS)) >= 3, (name, owners)


@pytest.mark.parametrize("command", [["shards", "status", "--json"], ["shards", "check", "--json"]])
def test_a_command_on_every_server_exits_promptly_and_cleanly(command: list[str]) -> None:
    started = time.monotonic()
    done = _manage(*command, timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    assert "error connecting" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    json.loads(done.stdout)
    assert elapsed < 20, f"{command} took {elapsed:.1f} s"


def _app_connections() -> dict[str, int]:
    """Connections of the app's user on each PostgreSQL server (this check's own excluded)."""
    out = {}
    for server in [db.DIRECTORY, *db.servers()]:
        with psycopg.connect(db.direct_conninfo(server), autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE usename = current_user AND pid <> pg_backend_pid()"
            ).fetchone()
            assert row is not None
            out[server] = int(row[0])
    return out


@pytest.mark.serial
async def test_connections_stay_within_the_pools_after_requests_and_commands(
    live: httpx.AsyncClient, unique: str, settings: Any
) -> None:
    user = await sign_up(live, f"cl_{unique}")
    token = user["token"]
    for i in range(200):
        query = FEED if i % 2 else PROFILE
        variables = {} if i % 2 else {"u": f"cl_{unique}"}
        body = await gql(live, query, variables, token=token)
        assert "errors" not in body, body
    for i in range(20):
        if i % 2:
            command = ["shards", "status", "--json"]
        else:
            command = ["rebuild_feeds", "--json", "--user", user["user"]["id"]]
        done = await asyncio.to_thread(_manage, *command)
        assert done.returncode == 0, done.stderr[-2000:]
    # Every process's pools go through PgBouncer, so a server sees at most
    # PgBouncer's two pools, plus Django's own (direct) connection of this
    # test process; commands that exited hold nothing.
    pgbouncer = int(os.environ["PGBOUNCER_POOL_SIZE"]) + int(
        os.environ["PGBOUNCER_NESTED_POOL_SIZE"]
    )
    counts = _app_connections()
    for server, count in counts.items():
        assert count <= pgbouncer + 1, (server, count, pgbouncer, counts)
