"""Reads that may be stale go to the hot standbys (REPLICA_READS), a lagging or
lost standby is skipped, and a user's own writes are read from the primaries
(docs/decisions/0068-replica-reads.md).

Serial: these tests pause WAL replay on standbys and stop one by its pid.
GraphQL goes through HTTP to the app in this process, whose settings each
test sets; statement counts name where each read ran (`shard1` the primary,
`shard1:replica` its standby). That the standby really answered is shown by
what a paused standby returns: the row as it was before the pause.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest

from backend.accounts.cache import ainvalidate_users
from backend.accounts.models import PROFILE
from backend.photos.cache import ainvalidate_photos
from backend.shards import replicas, routing, topology
from backend.shards.ids import shard_of
from backend.shards.stats import count_statements
from tests.graphql import gql, sign_up
from tests.shardutil import placement
from tests.test_degraded_reads import stopped
from tests.worlds import insert_photos

pytestmark = pytest.mark.serial

ALL_KINDS = frozenset({"profiles", "photo_lists", "comments"})

STRANGER_VIEW = """
query($id: ID!) {
  user(id: $id) {
    username bio
    photos(first: 10) {
      edges { node { id commentCount
        comments(first: 5) { edges { node { text author { username } } } } } }
    }
  }
}"""


def _standby_port(server: str) -> int:
    if server == "default":
        return int(os.environ["PG_DIRECTORY_STANDBY_PORT"])
    index = int(server.removeprefix("shard")) - 1
    return int(os.environ["PG_SHARD_STANDBY_PORTS"].split()[index])


@contextmanager
def replay_paused(server: str) -> Iterator[None]:
    """WAL replay paused on `server`'s standby: it keeps receiving (commits
    still return, synchronous_commit waits for the flush) but applies nothing."""
    db = "photoshare_directory" if server == "default" else "photoshare_shards"
    with psycopg.connect(
        host="127.0.0.1", port=_standby_port(server), user="photoshare", dbname=db, autocommit=True
    ) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            conn.execute("SELECT pg_wal_replay_resume()")


@pytest.fixture
def replica_settings(settings: Any) -> Any:
    settings.REPLICA_READS = ALL_KINDS
    settings.REPLICA_MAX_LAG_SECONDS = 0.5
    # A check's finding is trusted for two intervals: long enough for the
    # steps of one read on a loaded machine.
    settings.REPLICA_CHECK_SECONDS = 2.0
    settings.REPLICA_AFTER_WRITE_SECONDS = 5.0
    return settings


async def _wait_for(condition: Any, what: str, seconds: float = 30.0) -> Any:
    """Poll `condition()` (async) until it returns something truthy."""
    deadline = time.monotonic() + seconds
    while True:
        result = await condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def _replicas_caught_up() -> None:
    async def all_usable() -> bool:
        states = await replicas.acheck_all()
        return all(s.usable and s.lag_seconds == 0 for s in states.values())

    await _wait_for(all_usable, "every standby to catch up")


async def _world(client: httpx.AsyncClient, unique: str) -> dict[str, Any]:
    """An owner with two photos (two comments each, by a commenter), and a stranger."""
    owner = await sign_up(client, f"rro_{unique}")
    commenter = await sign_up(client, f"rrc_{unique}")
    stranger = await sign_up(client, f"rrs_{unique}")
    owner_id = int(owner["user"]["id"])
    photo_ids = await insert_photos([owner_id], 2, comments_by=[int(commenter["user"]["id"])] * 2)
    user_ids = [owner_id, int(commenter["user"]["id"]), int(stranger["user"]["id"])]
    world = {
        "owner": owner,
        "owner_id": owner_id,
        "server": placement()[shard_of(owner_id)],
        "commenter": commenter,
        "stranger": stranger,
        "photo_ids": photo_ids,
        "user_ids": user_ids,
    }
    await topology.arefresh()
    return world


async def _forget(world: dict[str, Any]) -> None:
    """Memcached off the path: these tests look at where rows are read."""
    await ainvalidate_photos(world["photo_ids"])
    await ainvalidate_users(world["user_ids"])


async def _read(
    client: httpx.AsyncClient,
    world: dict[str, Any],
    query: str = STRANGER_VIEW,
    *,
    as_: str = "stranger",
) -> tuple[dict[str, Any], Counter[str]]:
    await _forget(world)
    await topology.arefresh()  # its once-a-second check stays out of the count
    with count_statements() as counter:
        body = await gql(client, query, {"id": str(world["owner_id"])}, token=world[as_]["token"])
    assert "errors" not in body, body
    return body["data"], counter


def _check_stranger_view(
    data: dict[str, Any], world: dict[str, Any], bio: str | None = None
) -> None:
    user = data["user"]
    assert user["username"] == world["owner"]["user"]["username"]
    assert user["bio"] == bio
    photos = [e["node"] for e in user["photos"]["edges"]]
    assert [int(p["id"]) for p in photos] == sorted(world["photo_ids"], reverse=True)
    for photo in photos:
        assert photo["commentCount"] == 2
        texts = [e["node"]["text"] for e in photo["comments"]["edges"]]
        assert texts == ["c1", "c0"]
        authors = {e["node"]["author"]["username"] for e in photo["comments"]["edges"]}
        assert authors == {world["commenter"]["user"]["username"]}


async def _set_bio(user_id: int, bio: str) -> None:
    """Straight into the owner's profile row on the primary (no event, no cache)."""
    await routing.aquery(
        shard_of(user_id),
        f'UPDATE {{schema}}."{PROFILE}" SET bio = %s WHERE user_id = %s',
        [bio, user_id],
    )


async def test_a_strangers_profile_photos_and_comments_come_from_the_standby(
    client: httpx.AsyncClient, unique: str, replica_settings: Any, map_checked_once: None
) -> None:
    world = await _world(client, unique)
    await _replicas_caught_up()
    data, counter = await _read(client, world)
    _check_stranger_view(data, world)
    server = world["server"]
    # Profile, photo list, comment pages, authors' profiles: all on the
    # standby of the owner's server; its primary saw nothing.
    assert counter[f"{server}:replica"] >= 3, counter
    assert counter[server] == 0, counter
    # The directory's accounts too; only the token lookup is on its primary.
    assert counter["default:replica"] >= 1, counter
    assert counter["default"] == 1, counter

    # Proof that the standby answered: paused, it still has the old bio.
    # (The lag check would now skip it, a test of its own below; no
    # check runs in this test's time.)
    replica_settings.REPLICA_CHECK_SECONDS = 3600.0
    assert (await replicas.acheck_all())[server].usable
    with replay_paused(server):
        await _set_bio(world["owner_id"], "changed on the primary")
        data, counter = await _read(client, world)
        assert counter[f"{server}:replica"] >= 1 and counter[server] == 0, counter
        assert data["user"]["bio"] is None, "the paused standby must answer the old row"
    await _replicas_caught_up()


async def test_a_users_own_writes_are_read_from_the_primary(
    client: httpx.AsyncClient, unique: str, replica_settings: Any
) -> None:
    """A comment and a like on someone else's photo, read back at once by the
    writer while that photo's standby applies nothing: the writer sees both
    (read from the primary); a stranger reading the same is served by the
    paused standby, which does not have them yet."""
    world = await _world(client, unique)
    await _replicas_caught_up()
    server = world["server"]
    photo_id = world["photo_ids"][0]
    writer = world["commenter"]
    photo_view = """
    query($id: ID!) { photo(id: $id) { likeCount viewerHasLiked commentCount
      comments(first: 5) { edges { node { text author { username } } } } } }"""
    # The standby stays "healthy" as last checked (no check runs in this
    # test's time), so only the after-write rule keeps the writer off it.
    replica_settings.REPLICA_CHECK_SECONDS = 3600.0
    replica_settings.REPLICA_AFTER_WRITE_SECONDS = 60.0
    assert (await replicas.acheck_all())[server].usable
    with replay_paused(server):
        body = await gql(
            client,
            'mutation($id: ID!) { addComment(photoId: $id, text: "mine") { id } }',
            {"id": str(photo_id)},
            token=writer["token"],
        )
        assert "errors" not in body, body
        body = await gql(
            client,
            "mutation($id: ID!) { likePhoto(id: $id) { likeCount } }",
            {"id": str(photo_id)},
            token=writer["token"],
        )
        assert "errors" not in body, body
        await ainvalidate_photos([photo_id])

        with count_statements() as counter:
            body = await gql(client, photo_view, {"id": str(photo_id)}, token=writer["token"])
        assert "errors" not in body, body
        photo = body["data"]["photo"]
        assert photo["likeCount"] == 1 and photo["viewerHasLiked"] is True
        assert photo["commentCount"] == 3
        assert photo["comments"]["edges"][0]["node"]["text"] == "mine"
        assert not any(k.endswith(":replica") for k in counter), counter

        # The stranger wrote nothing: the (paused) standby serves them.
        await ainvalidate_photos([photo_id])
        with count_statements() as counter:
            body = await gql(
                client, photo_view, {"id": str(photo_id)}, token=world["stranger"]["token"]
            )
        assert "errors" not in body, body
        assert counter[f"{server}:replica"] >= 1, counter
        assert body["data"]["photo"]["commentCount"] == 2
        await ainvalidate_photos([photo_id])
    await _replicas_caught_up()


@pytest.mark.usefixtures("replica_settings")
async def test_the_owners_own_photo_list_and_profile_come_from_the_primary(
    client: httpx.AsyncClient, unique: str
) -> None:
    world = await _world(client, unique)
    await _replicas_caught_up()
    data, counter = await _read(client, world, as_="owner")
    _check_stranger_view(data, world)
    server = world["server"]
    # Their own profile and photo list from the primary; the comments
    # (and their author's profile) may come from the standby.
    assert counter[server] >= 2, counter
    assert counter[f"{server}:replica"] >= 1, counter


@pytest.mark.usefixtures("replica_settings")
async def test_a_lagging_standby_is_skipped_until_it_catches_up(
    client: httpx.AsyncClient, unique: str
) -> None:
    world = await _world(client, unique)
    await _replicas_caught_up()
    server = world["server"]
    data, counter = await _read(client, world)
    assert counter[f"{server}:replica"] >= 1 and counter[server] == 0, counter

    with replay_paused(server):
        await _set_bio(world["owner_id"], "written while the standby lags")

        async def read_from_primary() -> tuple[dict[str, Any], Counter[str]] | None:
            data, counter = await _read(client, world)
            return (data, counter) if counter[f"{server}:replica"] == 0 else None

        # Within a check interval or two the lag is seen and reads leave it.
        data, counter = await _wait_for(read_from_primary, "reads to leave the standby")
        _check_stranger_view(data, world, bio="written while the standby lags")
        assert counter[server] >= 3, counter
        state = replicas.state(server)
        assert not state.usable and state.lag_seconds is not None
        assert state.lag_seconds > 0.5

    async def read_from_replica() -> tuple[dict[str, Any], Counter[str]] | None:
        data, counter = await _read(client, world)
        return (data, counter) if counter[server] == 0 else None

    data, counter = await _wait_for(read_from_replica, "reads to return to the standby")
    _check_stranger_view(data, world, bio="written while the standby lags")
    assert counter[f"{server}:replica"] >= 3, counter


async def test_with_the_setting_off_nothing_reads_from_a_standby(
    client: httpx.AsyncClient, unique: str, settings: Any
) -> None:
    settings.REPLICA_READS = frozenset()
    world = await _world(client, unique)
    await _replicas_caught_up()
    data, counter = await _read(client, world)
    _check_stranger_view(data, world)
    assert not any(k.endswith(":replica") for k in counter), counter

    # One kind on: only its reads move.
    settings.REPLICA_READS = frozenset({"comments"})
    settings.REPLICA_CHECK_SECONDS = 2.0
    data, counter = await _read(client, world)
    _check_stranger_view(data, world)
    server = world["server"]
    # The comment pages of the two photos (one statement), nothing else.
    assert counter[f"{server}:replica"] == 1, counter
    assert counter["default:replica"] == 0, counter


@pytest.mark.usefixtures("replica_settings")
async def test_a_lost_standby_costs_no_error_and_is_used_again_when_back(
    client: httpx.AsyncClient, unique: str
) -> None:
    world = await _world(client, unique)
    await _replicas_caught_up()
    server = world["server"]
    # Nothing is written while it is down: its primary's commits would
    # wait for it (synchronous replication, 0061).
    with stopped(f"pg-{server}-standby"):
        for _ in range(3):
            data, counter = await _read(client, world)
            _check_stranger_view(data, world)
            assert counter[server] >= 3, counter
        state = replicas.state(server)
        assert not state.usable and state.error

    await _replicas_caught_up()
    data, counter = await _read(client, world)
    _check_stranger_view(data, world)
    assert counter[f"{server}:replica"] >= 3 and counter[server] == 0, counter
