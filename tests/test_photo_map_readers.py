"""The photo map's readers, through HTTP: the feed drops photos of accounts the
reader does not follow before it reads their rows or cache entries, and stays
correct when the map has lost entries (docs/decisions/0014-photo-map-readers.md).

Photos are written straight into the shards, the map and the reader's feed,
which is what an upload and its fan-out do, without 40 image uploads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx
import pytest

from backend.feeds.services import ado_deliver
from backend.memcache import Memcache
from backend.photos import photo_map
from backend.photos.cache import ainvalidate_photos, photo_key
from backend.shards import routing, topology
from backend.shards.ids import shard_of
from backend.shards.stats import count_statements
from tests.graphql import gql, sign_up
from tests.queues import drain
from tests.worlds import insert_photos

FEED = """
query($first: Int) {
  feed(first: $first) { edges { node { id owner { id } } } pageInfo { hasNextPage } }
}"""
FOLLOW = "mutation($id: ID!) { follow(userId: $id) { id } }"


def _id(user: dict[str, Any]) -> int:
    return int(user["user"]["id"])


async def _server(user: dict[str, Any]) -> str:
    return (await topology.arefresh()).server_of(shard_of(_id(user)))


async def _photos(owner_id: int, n: int) -> list[int]:
    """n photo rows of owner_id, oldest first, in the map like an upload's."""
    ids = await insert_photos([owner_id], n)
    await photo_map.aset_owners((p, owner_id) for p in ids)
    return ids


async def _deliver(reader: dict[str, Any], photo_ids: Iterable[int]) -> None:
    for photo_id in photo_ids:
        assert await ado_deliver(photo_id=photo_id, follower_ids=[_id(reader)]) == 1


async def _feed(client: httpx.AsyncClient, token: str, first: int = 20) -> list[int]:
    body = await gql(client, FEED, {"first": first}, token=token)
    assert "errors" not in body, body
    return [int(e["node"]["id"]) for e in body["data"]["feed"]["edges"]]


async def _other_server_user(client: httpx.AsyncClient, name: str, server: str) -> dict[str, Any]:
    for n in range(40):
        user = await sign_up(client, f"{name}{n}")
        if await _server(user) != server:
            return user
    raise AssertionError("every sign-up landed on one server")


async def test_feed_reads_no_photo_of_unfollowed_owners(
    client: httpx.AsyncClient, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 40 newest entries are of an account the reader does not follow, on the
    other physical server: that server gets no statement, Memcached no key of theirs."""
    reader = await sign_up(client, f"pr_{unique}")
    stranger = await _other_server_user(client, f"ps_{unique}_", await _server(reader))
    assert await _feed(client, reader["token"]) == []  # builds the (empty) feed
    own = await _photos(_id(reader), 1)
    theirs = await _photos(_id(stranger), 40)
    await _deliver(reader, own + theirs)
    await ainvalidate_photos(own + theirs)  # cold: a read would have to go to the shard

    requested: list[str] = []
    get_many = Memcache.get_many

    async def counting_get_many(self: Memcache, keys: Iterable[str]) -> dict[str, Any]:
        keys = list(keys)
        requested.extend(keys)
        return await get_many(self, keys)

    monkeypatch.setattr(Memcache, "get_many", counting_get_many)
    await topology.arefresh()  # no periodic shard map check inside the count
    with count_statements() as counter:
        assert await _feed(client, reader["token"]) == own
    assert counter[await _server(stranger)] == 0, counter
    assert not {photo_key(p) for p in theirs} & set(requested)
    assert photo_key(own[0]) in requested


@pytest.mark.serial  # drops whole map keys, which parallel map tests may share
async def test_feed_stays_correct_without_the_map(client: httpx.AsyncClient, unique: str) -> None:
    """A photo the map has no entry for is read and checked as before: a followed
    account's photos are all there, a stranger's are not, a deleted one is skipped."""
    reader = await sign_up(client, f"qr_{unique}")
    friend = await sign_up(client, f"qf_{unique}")
    stranger = await sign_up(client, f"qs_{unique}")
    await gql(client, FOLLOW, {"id": str(_id(friend))}, token=reader["token"])
    await drain()  # the follow's backfill is done before the photos exist
    await _feed(client, reader["token"])
    kept = await _photos(_id(friend), 3)
    gone = await _photos(_id(friend), 1)
    theirs = await _photos(_id(stranger), 3)
    await _deliver(reader, kept + gone + theirs)
    # Deleted, but still in the map (the rebuild's known gap) and in the feed.
    await routing.aquery(
        shard_of(gone[0]), 'DELETE FROM {schema}."photos_photo" WHERE id = %s', gone
    )
    await ainvalidate_photos(gone)
    expected = list(reversed(kept))
    assert await _feed(client, reader["token"]) == expected

    # One shard's map lost, then everything the page names.
    await photo_map.aclient().unlink(photo_map.map_key(shard_of(_id(friend))))
    assert await photo_map.aget_owners(kept) == {}
    assert await _feed(client, reader["token"]) == expected
    await photo_map.aclient().unlink(photo_map.map_key(shard_of(_id(stranger))))
    await ainvalidate_photos(kept + theirs)
    assert await _feed(client, reader["token"]) == expected


LIKE = "mutation($id: ID!) { likePhoto(id: $id) { id likeCount } }"
UNLIKE = "mutation($id: ID!) { unlikePhoto(id: $id) { id likeCount } }"
COMMENT = 'mutation($id: ID!) { addComment(photoId: $id, text: "hi") { id } }'


async def _counted(client: httpx.AsyncClient, query: str, photo_id: int, token: str) -> Any:
    await topology.arefresh()
    with count_statements() as counter:
        body = await gql(client, query, {"id": str(photo_id)}, token=token)
    return body, counter


async def test_likes_and_comments_take_the_owner_from_the_map(
    client: httpx.AsyncClient, unique: str
) -> None:
    """With a map entry the photo's server gets one statement fewer than without."""
    owner = await sign_up(client, f"lo_{unique}")
    fan = await sign_up(client, f"lf_{unique}")
    [photo_id] = await _photos(_id(owner), 1)
    server = await _server(owner)
    counts = {}
    for mapped in (True, False):
        if not mapped:
            await photo_map.aremove(photo_id)
        for query in (LIKE, UNLIKE, COMMENT):
            body, counter = await _counted(client, query, photo_id, fan["token"])
            assert "errors" not in body, body
            counts[mapped, query] = counter[server]
    for query in (LIKE, UNLIKE, COMMENT):
        assert counts[True, query] + 1 == counts[False, query], counts
    like_count = await gql(
        client,
        "query($id: ID!) { photo(id: $id) { likeCount commentCount } }",
        {"id": str(photo_id)},
        token=fan["token"],
    )
    assert like_count["data"]["photo"] == {"likeCount": 0, "commentCount": 2}


async def test_a_deleted_photo_still_named_by_the_map_is_not_found(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(client, f"do_{unique}")
    fan = await sign_up(client, f"df_{unique}")
    [photo_id] = await _photos(_id(owner), 1)
    await routing.aquery(
        shard_of(photo_id), 'DELETE FROM {schema}."photos_photo" WHERE id = %s', [photo_id]
    )
    assert await photo_map.aget_owner(photo_id) == _id(owner)
    for query in (LIKE, UNLIKE, COMMENT):
        body, _ = await _counted(client, query, photo_id, fan["token"])
        assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"], body
    # The refused writes left nothing behind.
    for table in ("social_like", "social_comment", "social_activity"):
        rows = await routing.aquery(
            shard_of(photo_id),
            f'SELECT count(*) AS n FROM {{schema}}."{table}" WHERE photo_id = %s',
            [photo_id],
        )
        assert rows[0]["n"] == 0, table
