"""The read path's statement counts: constant per physical server, whatever the page size.

Photos, likes and comments are written straight into the shards (quick, and
spread over many logical shards on both servers); the reads go through HTTP.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.accounts.cache import ainvalidate_users
from backend.photos.cache import ainvalidate_photos
from backend.shards import routing, topology
from backend.shards.ids import shard_of
from backend.shards.stats import count_statements
from tests.graphql import gql, sign_up
from tests.shardutil import start_stopped_servers
from tests.worlds import insert_photos, photos_by_id


async def _make_world(client: httpx.AsyncClient, unique: str, n_photos: int) -> dict[str, Any]:
    """Owners on both servers, n photos spread over them, 4 comments and some likes each."""
    viewer = await sign_up(client, f"rv_{unique}")
    owners: list[dict[str, Any]] = []
    servers: set[str] = set()
    shard_map = await topology.arefresh()
    while len(owners) < 8 or len(servers) < 2:
        owner = await sign_up(client, f"ro{len(owners)}_{unique}")
        owners.append(owner)
        servers.add(shard_map.server_of(shard_of(int(owner["user"]["id"]))))
    # Alternate servers, so even the first few photos touch both.
    by_server = sorted(owners, key=lambda o: shard_map.server_of(shard_of(int(o["user"]["id"]))))
    owners = [o for pair in zip(by_server, reversed(by_server), strict=True) for o in pair]
    owners = list({o["user"]["id"]: o for o in owners}.values())
    commenters = [int(o["user"]["id"]) for o in owners[:3]]
    # Four comments each (the fourth by the first commenter again).
    photo_ids = await insert_photos(
        [int(o["user"]["id"]) for o in owners],
        n_photos,
        comments_by=[*commenters, commenters[0]],
        liked_by=int(viewer["user"]["id"]),
    )
    user_ids = [int(u["user"]["id"]) for u in [viewer, *owners]]
    return {"viewer": viewer, "photo_ids": photo_ids, "servers": servers, "user_ids": user_ids}


async def _forget(world: dict[str, Any]) -> None:
    """Drop this world's cached copies (not cache.clear(): tests run in parallel)."""
    await ainvalidate_photos(world["photo_ids"])
    await ainvalidate_users(world["user_ids"])


async def _counted(client: httpx.AsyncClient, query: str, token: str) -> tuple[Any, Counter[str]]:
    # The shard map is re-checked once a second: refresh it now, so that
    # check (one directory statement) does not fall inside a counted request.
    await topology.arefresh()
    with count_statements() as counter:
        body = await gql(client, query, token=token)
    assert "errors" not in body, body
    return body["data"], counter


@pytest.fixture(autouse=True)
def _map_checked_once(map_checked_once: None) -> None:
    """These tests count the page's own statements (tests/conftest.py)."""


@pytest.fixture
def big_documents(settings: Any) -> None:
    """These tests ask for up to 50 photos by alias in one document, past the
    public limits on tokens, fields and aliases (backend/graph/limits.py)."""
    settings.GRAPHQL_MAX_FIELDS = 5000
    settings.GRAPHQL_MAX_ALIASES = 100
    settings.GRAPHQL_MAX_TOKENS = 20000


@pytest.mark.usefixtures("big_documents")
async def test_statements_per_server_do_not_grow_with_the_page(
    client: httpx.AsyncClient, unique: str
) -> None:
    world = await _make_world(client, unique, 50)
    token = world["viewer"]["token"]
    counts = {}
    for size in (5, 20, 50):
        # Memcached off the path: fresh copies are what this test counts.
        await _forget(world)
        data, counter = await _counted(client, photos_by_id(world["photo_ids"][:size]), token)
        assert len(data) == size
        for n in range(size):
            photo = data[f"p{n}"]
            assert photo["viewerHasLiked"] is bool(n % 2)
            assert photo["likeCount"] == n % 2
            assert photo["commentCount"] == 4
            assert [e["node"]["text"] for e in photo["comments"]["edges"]] == ["c3", "c2", "c1"]
        counts[size] = counter
    assert counts[5] == counts[20] == counts[50], counts
    shard_servers = set(counts[20]) - {"default"}
    assert shard_servers == world["servers"]
    # photos, profiles, likes, comments, comment authors' profiles: at most 5 per server,
    # plus the accounts in the directory (owners, authors) and the token lookup.
    assert all(counts[20][s] <= 5 for s in shard_servers), counts[20]
    assert counts[20]["default"] <= 3, counts[20]


async def test_signed_photo_urls_add_no_statement_per_photo(
    client: httpx.AsyncClient, unique: str
) -> None:
    """A private account's page: every URL is presigned, from the owner loaded once."""
    owner = await sign_up(client, f"rs_{unique}")
    owner_id = int(owner["user"]["id"])
    await gql(client, "mutation { updateProfile(isPrivate: true) { id } }", token=owner["token"])
    for _ in range(50):
        await routing.aquery(
            shard_of(owner_id),
            'INSERT INTO {schema}."photos_photo" (owner_id, caption, width, height, key) '
            "VALUES (%s, '', 10, 10, %s)",
            [owner_id, secrets.token_urlsafe(16)],
        )
    counts = {}
    for size in (5, 20, 50):
        await ainvalidate_users([owner_id])
        await topology.arefresh()  # no periodic shard map check inside the count
        query = f"{{ viewer {{ photos(first: {size}) {{ edges {{ node {{ id url }} }} }} }} }}"
        data, counter = await _counted(client, query, owner["token"])
        urls = [e["node"]["url"] for e in data["viewer"]["photos"]["edges"]]
        assert len(urls) == size
        assert all("X-Amz-Signature=" in url for url in urls)
        counts[size] = counter
    assert counts[5] == counts[20] == counts[50], counts


@pytest.mark.usefixtures("big_documents")
async def test_memcached_hits_issue_fewer_statements(
    client: httpx.AsyncClient, unique: str
) -> None:
    world = await _make_world(client, unique, 20)
    query = photos_by_id(world["photo_ids"])
    await _forget(world)
    cold_data, cold = await _counted(client, query, world["viewer"]["token"])
    warm_data, warm = await _counted(client, query, world["viewer"]["token"])
    assert warm_data == cold_data
    assert sum(warm.values()) < sum(cold.values()), (cold, warm)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "Z"


def _memcached_pid() -> int:
    return int((Path(os.environ["STACK_DIR"]) / "run" / "memcached.pid").read_text().split()[0])


@pytest.mark.serial
async def test_answers_stay_correct_with_memcached_down(
    client: httpx.AsyncClient, unique: str
) -> None:
    world = await _make_world(client, unique, 6)
    query = photos_by_id(world["photo_ids"])
    token = world["viewer"]["token"]
    before, _ = await _counted(client, query, token)
    pid = _memcached_pid()
    os.kill(pid, signal.SIGTERM)
    try:
        # Gone, not just told to go: a restart while it still runs would be skipped.
        deadline = time.monotonic() + 15
        while _state(pid) != "Z":
            assert time.monotonic() < deadline, "memcached did not stop"
            await asyncio.sleep(0.05)
        during, _ = await _counted(client, query, token)
        assert during == before
        like = await gql(
            client,
            "mutation($id: ID!) { likePhoto(id: $id) { likeCount viewerHasLiked } }",
            {"id": str(world["photo_ids"][0])},
            token=token,
        )
        assert like["data"]["likePhoto"] == {"likeCount": 1, "viewerHasLiked": True}
    finally:
        await asyncio.to_thread(start_stopped_servers)
    after, _ = await _counted(client, query, token)
    assert after["p0"]["likeCount"] == 1
