"""With Redis stopped, feeds fall back to a pull from the shards, and likes,
comments and follows still commit and answer: their events wait in the
outbox and are relayed once Redis is back (serial: stops Redis by pid).

Issue 18, item 5; docs/decisions/0060-reads-that-degrade.md.
"""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest

from backend.shards import outbox
from backend.shards.ids import shard_of
from tests.graphql import error_codes, gql, sign_up
from tests.shardutil import placement
from tests.test_degraded_reads import FEED, FOLLOW, LIKE, stopped
from tests.worlds import insert_photos

pytestmark = pytest.mark.serial

COMMENT = "mutation($id: ID!, $t: String!) { addComment(photoId: $id, text: $t) { id } }"


async def _pending(server: str, logical: int) -> int:
    return await outbox.pending(server, logical=logical)


async def test_writes_commit_and_feeds_pull_while_redis_is_down(
    live: httpx.AsyncClient, unique: str
) -> None:
    reader = await sign_up(live, f"rr{unique}")
    authors = [await sign_up(live, f"ra{unique}{n}") for n in range(2)]
    newcomer = await sign_up(live, f"rn{unique}")
    for author in authors:
        body = await gql(live, FOLLOW, {"id": author["user"]["id"]}, token=reader["token"])
        assert "errors" not in body, body
    photos = [
        *await insert_photos([int(authors[0]["user"]["id"])], 3),
        *await insert_photos([int(authors[1]["user"]["id"])], 3),
    ]
    newest_first = sorted(photos, reverse=True)
    photo = photos[0]
    logical = shard_of(photo)
    server = placement()[logical]

    with stopped("redis", signal.SIGKILL):
        # The feed: pulled from the shards, the whole first page, no error.
        body = await gql(live, FEED, token=reader["token"])
        assert "errors" not in body, body
        assert [int(e["node"]["id"]) for e in body["data"]["feed"]["edges"]] == newest_first

        before = await _pending(server, logical)
        body = await gql(live, LIKE, {"id": str(photo)}, token=reader["token"])
        assert "errors" not in body, body
        assert body["data"]["likePhoto"]["likeCount"] == 1
        body = await gql(
            live, COMMENT, {"id": str(photo), "t": "still here"}, token=reader["token"]
        )
        assert "errors" not in body, body
        body = await gql(live, FOLLOW, {"id": authors[0]["user"]["id"]}, token=newcomer["token"])
        assert "errors" not in body, body
        assert "INTERNAL_SERVER_ERROR" not in error_codes(body)
        # The like's and the comment's events wait in the photo's outbox.
        assert await _pending(server, logical) >= before + 2

    # Redis is back: the relays hand the waiting events on.
    deadline = time.monotonic() + 30
    while await _pending(server, logical) > 0:
        assert time.monotonic() < deadline, "the outbox was not relayed after Redis returned"
        await asyncio.sleep(0.2)
    body = await gql(live, FEED, token=reader["token"])
    assert "errors" not in body, body
    assert [int(e["node"]["id"]) for e in body["data"]["feed"]["edges"]] == newest_first
    body = await gql(live, FEED, token=newcomer["token"])
    assert "errors" not in body, body
