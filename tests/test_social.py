"""Profiles, follows (public and private), likes and comments through HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

import tests.imagegen as imagegen
from backend.shards import routing
from backend.shards.ids import shard_of
from tests.graphql import error_codes, gql, sign_up, upload

USER = """
query($id: ID!) {
  user(id: $id) {
    id fullName bio isPrivate followerCount followingCount photoCount
    viewerFollows viewerHasRequested
  }
}"""
UPDATE_PROFILE = """
mutation($fullName: String, $bio: String, $isPrivate: Boolean) {
  updateProfile(fullName: $fullName, bio: $bio, isPrivate: $isPrivate) {
    id fullName bio isPrivate
  }
}"""
FOLLOW = """
mutation($id: ID!) {
  follow(userId: $id) { id followerCount viewerFollows viewerHasRequested }
}"""
UNFOLLOW = "mutation($id: ID!) { unfollow(userId: $id) { id followerCount viewerFollows } }"
APPROVE = "mutation($id: ID!) { approveFollowRequest(userId: $id) { id followingCount } }"
REJECT = "mutation($id: ID!) { rejectFollowRequest(userId: $id) { id } }"
REQUESTS = "{ followRequests { edges { node { id username } } } }"
LISTS = """
query($id: ID!, $first: Int, $after: String) {
  user(id: $id) {
    followers(first: $first, after: $after) {
      edges { cursor node { id } } pageInfo { hasNextPage endCursor }
    }
    following { edges { node { id } } }
  }
}"""
PHOTOS = "query($id: ID!) { user(id: $id) { photos { edges { node { id } } } } }"
PHOTO = "query($id: ID!) { photo(id: $id) { id likeCount viewerHasLiked commentCount } }"
LIKE = "mutation($id: ID!) { likePhoto(id: $id) { id likeCount viewerHasLiked } }"
UNLIKE = "mutation($id: ID!) { unlikePhoto(id: $id) { id likeCount viewerHasLiked } }"
COMMENT = """
mutation($id: ID!, $text: String!) {
  addComment(photoId: $id, text: $text) { id text author { id username } }
}"""
DELETE_COMMENT = "mutation($id: ID!) { deleteComment(id: $id) }"
COMMENTS = """
query($id: ID!, $first: Int, $after: String) {
  photo(id: $id) {
    commentCount
    comments(first: $first, after: $after) {
      edges { node { id text author { username } } } pageInfo { hasNextPage endCursor }
    }
  }
}"""


async def _user(client: httpx.AsyncClient, user_id: str, token: str | None = None) -> Any:
    body = await gql(client, USER, {"id": user_id}, token=token)
    assert "errors" not in body, body
    return body["data"]["user"]


async def _photo_of(client: httpx.AsyncClient, owner: dict[str, Any]) -> str:
    body = await upload(client, owner["token"], imagegen.png_bytes(64, 48))
    assert "errors" not in body, body
    photo_id: str = body["data"]["uploadPhoto"]["id"]
    return photo_id


async def test_update_profile(client: httpx.AsyncClient, unique: str) -> None:
    me = await sign_up(client, f"prof_{unique}")
    body = await gql(
        client, UPDATE_PROFILE, {"fullName": " Ada L. ", "bio": "hi"}, token=me["token"]
    )
    assert body["data"]["updateProfile"] == {
        "id": me["user"]["id"],
        "fullName": "Ada L.",
        "bio": "hi",
        "isPrivate": False,
    }
    # Omitted fields stay; the change is visible to others.
    await gql(client, UPDATE_PROFILE, {"isPrivate": True}, token=me["token"])
    seen = await _user(client, me["user"]["id"])
    assert (seen["fullName"], seen["bio"], seen["isPrivate"]) == ("Ada L.", "hi", True)
    too_long = await gql(client, UPDATE_PROFILE, {"bio": "x" * 301}, token=me["token"])
    assert error_codes(too_long) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(client, UPDATE_PROFILE, {"bio": "x"})) == ["UNAUTHENTICATED"]


async def test_follow_public_account_both_sides_and_counts(
    client: httpx.AsyncClient, unique: str
) -> None:
    a = await sign_up(client, f"fa_{unique}")
    b = await sign_up(client, f"fb_{unique}")
    a_id, b_id = a["user"]["id"], b["user"]["id"]

    body = await gql(client, FOLLOW, {"id": b_id}, token=a["token"])
    assert body["data"]["follow"] == {
        "id": b_id,
        "followerCount": 1,
        "viewerFollows": True,
        "viewerHasRequested": False,
    }
    assert (await _user(client, a_id))["followingCount"] == 1
    lists_b = (await gql(client, LISTS, {"id": b_id}))["data"]["user"]
    assert [e["node"]["id"] for e in lists_b["followers"]["edges"]] == [a_id]
    lists_a = (await gql(client, LISTS, {"id": a_id}))["data"]["user"]
    assert [e["node"]["id"] for e in lists_a["following"]["edges"]] == [b_id]

    # The two edges really sit on the two users' shards.
    truth = await routing.aquery(
        shard_of(int(a_id)),
        'SELECT status FROM {schema}."social_following" WHERE user_id = %s AND target_id = %s',
        [int(a_id), int(b_id)],
    )
    mirror = await routing.aquery(
        shard_of(int(b_id)),
        'SELECT status FROM {schema}."social_follower" WHERE user_id = %s AND follower_id = %s',
        [int(b_id), int(a_id)],
    )
    assert truth == mirror == [{"status": "active"}]

    assert error_codes(await gql(client, FOLLOW, {"id": b_id}, token=a["token"])) == [
        "BAD_USER_INPUT"
    ]
    assert error_codes(await gql(client, FOLLOW, {"id": a_id}, token=a["token"])) == [
        "BAD_USER_INPUT"
    ]
    assert error_codes(await gql(client, FOLLOW, {"id": "999"}, token=a["token"])) == ["NOT_FOUND"]
    assert error_codes(await gql(client, FOLLOW, {"id": b_id})) == ["UNAUTHENTICATED"]

    body = await gql(client, UNFOLLOW, {"id": b_id}, token=a["token"])
    assert body["data"]["unfollow"] == {"id": b_id, "followerCount": 0, "viewerFollows": False}
    assert (await _user(client, a_id))["followingCount"] == 0
    assert error_codes(await gql(client, UNFOLLOW, {"id": b_id}, token=a["token"])) == [
        "BAD_USER_INPUT"
    ]


async def test_private_account_requests_and_visibility(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(client, f"po_{unique}")
    fan = await sign_up(client, f"pf_{unique}")
    stranger = await sign_up(client, f"ps_{unique}")
    owner_id, fan_id = owner["user"]["id"], fan["user"]["id"]
    await gql(client, UPDATE_PROFILE, {"isPrivate": True}, token=owner["token"])
    photo_id = await _photo_of(client, owner)

    for token in (stranger["token"], None):
        assert error_codes(await gql(client, PHOTOS, {"id": owner_id}, token=token)) == [
            "FORBIDDEN"
        ]
        assert error_codes(await gql(client, PHOTO, {"id": photo_id}, token=token)) == ["FORBIDDEN"]
        # One error per refused list (each is nullable: v2's errors stay local).
        lists = await gql(client, LISTS, {"id": owner_id}, token=token)
        assert error_codes(lists) == ["FORBIDDEN", "FORBIDDEN"]
        assert lists["data"]["user"]["followers"] is None
    assert error_codes(await gql(client, LIKE, {"id": photo_id}, token=stranger["token"])) == [
        "FORBIDDEN"
    ]
    # The owner sees their own photos.
    assert "errors" not in await gql(client, PHOTOS, {"id": owner_id}, token=owner["token"])

    body = await gql(client, FOLLOW, {"id": owner_id}, token=fan["token"])
    assert body["data"]["follow"]["viewerFollows"] is False
    assert body["data"]["follow"]["viewerHasRequested"] is True
    assert body["data"]["follow"]["followerCount"] == 0
    assert error_codes(await gql(client, PHOTOS, {"id": owner_id}, token=fan["token"])) == [
        "FORBIDDEN"
    ]
    requests = await gql(client, REQUESTS, token=owner["token"])
    assert [e["node"]["id"] for e in requests["data"]["followRequests"]["edges"]] == [fan_id]

    # Only the account's owner can approve, and only a pending request.
    not_mine = await gql(client, APPROVE, {"id": fan_id}, token=stranger["token"])
    assert error_codes(not_mine) == ["NOT_FOUND"]
    approved = await gql(client, APPROVE, {"id": fan_id}, token=owner["token"])
    assert approved["data"]["approveFollowRequest"] == {"id": fan_id, "followingCount": 1}
    assert (await gql(client, REQUESTS, token=owner["token"]))["data"]["followRequests"][
        "edges"
    ] == []
    photos = await gql(client, PHOTOS, {"id": owner_id}, token=fan["token"])
    assert [e["node"]["id"] for e in photos["data"]["user"]["photos"]["edges"]] == [photo_id]
    liked = await gql(client, LIKE, {"id": photo_id}, token=fan["token"])
    assert liked["data"]["likePhoto"]["likeCount"] == 1
    assert (await _user(client, owner_id, owner["token"]))["followerCount"] == 1

    # A rejected request leaves no edge behind.
    await gql(client, FOLLOW, {"id": owner_id}, token=stranger["token"])
    rejected = await gql(client, REJECT, {"id": stranger["user"]["id"]}, token=owner["token"])
    assert "errors" not in rejected, rejected
    seen = await _user(client, owner_id, stranger["token"])
    assert (seen["viewerFollows"], seen["viewerHasRequested"]) == (False, False)
    again = await gql(client, REJECT, {"id": stranger["user"]["id"]}, token=owner["token"])
    assert error_codes(again) == ["NOT_FOUND"]


async def test_likes_are_idempotent_and_exact_under_concurrency(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(client, f"lo_{unique}")
    photo_id = await _photo_of(client, owner)
    fans = await asyncio.gather(*(sign_up(client, f"l{i}_{unique}") for i in range(12)))

    # Many users at once, each liking twice.
    await asyncio.gather(
        *(gql(client, LIKE, {"id": photo_id}, token=f["token"]) for f in fans for _ in range(2))
    )
    body = await gql(client, PHOTO, {"id": photo_id}, token=fans[0]["token"])
    assert body["data"]["photo"]["likeCount"] == 12
    assert body["data"]["photo"]["viewerHasLiked"] is True
    owner_view = await gql(client, PHOTO, {"id": photo_id}, token=owner["token"])
    assert owner_view["data"]["photo"]["viewerHasLiked"] is False

    # One user liking and unliking rapidly, concurrently.
    toggler = fans[1]["token"]
    await asyncio.gather(
        *(
            gql(client, LIKE if i % 2 else UNLIKE, {"id": photo_id}, token=toggler)
            for i in range(20)
        )
    )
    body = await gql(client, PHOTO, {"id": photo_id}, token=toggler)
    expected = 11 + (1 if body["data"]["photo"]["viewerHasLiked"] else 0)
    assert body["data"]["photo"]["likeCount"] == expected
    rows = await routing.aquery(
        shard_of(int(photo_id)),
        'SELECT count(*) AS n FROM {schema}."social_like" WHERE photo_id = %s',
        [int(photo_id)],
    )
    assert rows[0]["n"] == expected

    unliked = await gql(client, UNLIKE, {"id": photo_id}, token=fans[2]["token"])
    assert unliked["data"]["unlikePhoto"]["viewerHasLiked"] is False
    assert unliked["data"]["unlikePhoto"]["likeCount"] == expected - 1
    missing = await gql(client, LIKE, {"id": "12345"}, token=fans[0]["token"])
    assert error_codes(missing) == ["NOT_FOUND"]
    assert error_codes(await gql(client, LIKE, {"id": photo_id})) == ["UNAUTHENTICATED"]


async def test_comments_add_page_delete_and_permissions(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(client, f"co_{unique}")
    author = await sign_up(client, f"ca_{unique}")
    other = await sign_up(client, f"cx_{unique}")
    photo_id = await _photo_of(client, owner)

    ids = []
    for n in range(5):
        body = await gql(
            client, COMMENT, {"id": photo_id, "text": f" c{n} "}, token=author["token"]
        )
        assert body["data"]["addComment"]["text"] == f"c{n}"
        assert body["data"]["addComment"]["author"]["username"] == f"ca_{unique}"
        ids.append(body["data"]["addComment"]["id"])

    seen: list[str] = []
    after = None
    while True:
        page = (await gql(client, COMMENTS, {"id": photo_id, "first": 2, "after": after}))["data"]
        assert page["photo"]["commentCount"] == 5
        seen += [e["node"]["id"] for e in page["photo"]["comments"]["edges"]]
        if not page["photo"]["comments"]["pageInfo"]["hasNextPage"]:
            break
        after = page["photo"]["comments"]["pageInfo"]["endCursor"]
    assert seen == list(reversed(ids))

    for text in ("", "   ", "x" * 1001):
        bad = await gql(client, COMMENT, {"id": photo_id, "text": text}, token=author["token"])
        assert error_codes(bad) == ["BAD_USER_INPUT"]
    denied = await gql(client, DELETE_COMMENT, {"id": ids[0]}, token=other["token"])
    assert error_codes(denied) == ["FORBIDDEN"]
    by_author = await gql(client, DELETE_COMMENT, {"id": ids[0]}, token=author["token"])
    by_owner = await gql(client, DELETE_COMMENT, {"id": ids[1]}, token=owner["token"])
    assert by_author["data"]["deleteComment"] is True and by_owner["data"]["deleteComment"] is True
    page = (await gql(client, COMMENTS, {"id": photo_id, "first": 10}))["data"]["photo"]
    assert page["commentCount"] == 3
    assert [e["node"]["id"] for e in page["comments"]["edges"]] == list(reversed(ids[2:]))
    gone = await gql(client, DELETE_COMMENT, {"id": ids[0]}, token=author["token"])
    assert error_codes(gone) == ["NOT_FOUND"]


async def test_followers_pages(client: httpx.AsyncClient, unique: str) -> None:
    star = await sign_up(client, f"st_{unique}")
    fans = [await sign_up(client, f"sf{i}_{unique}") for i in range(5)]
    for fan in fans:
        body = await gql(client, FOLLOW, {"id": star["user"]["id"]}, token=fan["token"])
        assert "errors" not in body, body
    seen: list[str] = []
    after = None
    while True:
        body = await gql(client, LISTS, {"id": star["user"]["id"], "first": 2, "after": after})
        conn = body["data"]["user"]["followers"]
        seen += [e["node"]["id"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == [f["user"]["id"] for f in reversed(fans)]


async def test_half_written_follow_is_repaired_from_the_truth(
    client: httpx.AsyncClient, unique: str
) -> None:
    """A crash between the two commits leaves the mirror ahead; the reconcile job fixes it."""
    from backend.social.tasks import reconcile_follow

    a = await sign_up(client, f"ra_{unique}")
    b = await sign_up(client, f"rb_{unique}")
    a_id, b_id = int(a["user"]["id"]), int(b["user"]["id"])
    # What the crash leaves: B's mirror says A follows, A's truth has no row.
    await routing.aquery(
        shard_of(b_id),
        'INSERT INTO {schema}."social_follower" (user_id, follower_id, status) '
        "VALUES (%s, %s, 'active')",
        [b_id, a_id],
    )
    await routing.aquery(
        shard_of(b_id),
        'UPDATE {schema}."social_profile" SET follower_count = 1 WHERE user_id = %s',
        [b_id],
    )
    reconcile_follow.send(a_id, b_id)  # run by the stack's Dramatiq worker
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        rows = await routing.aquery(
            shard_of(b_id),
            'SELECT follower_count FROM {schema}."social_profile" WHERE user_id = %s',
            [b_id],
        )
        if rows[0]["follower_count"] == 0:
            break
        assert asyncio.get_running_loop().time() < deadline, "not repaired in 10 s"
        await asyncio.sleep(0.1)
    mirror = await routing.aquery(
        shard_of(b_id),
        'SELECT 1 FROM {schema}."social_follower" WHERE user_id = %s AND follower_id = %s',
        [b_id, a_id],
    )
    assert mirror == []


async def test_concurrent_follows_beyond_the_pool_size_finish(
    client: httpx.AsyncClient, unique: str, settings: Any
) -> None:
    """Each follow holds a transaction while it writes the mirror. With more
    follows at once than pooled connections (all on one server), they must
    still all complete: the mirror writes use their own pool."""
    from backend import runtime
    from backend.shards import topology
    from backend.social.services.follows import do_follow

    star = await sign_up(client, f"cs_{unique}")
    star_id = int(star["user"]["id"])
    shard_map = await topology.arefresh()
    server = shard_map.server_of(shard_of(star_id))
    fans: list[int] = []
    n = 0
    while len(fans) < 6:
        fan = await sign_up(client, f"c{n}_{unique}")
        n += 1
        if shard_map.server_of(shard_of(int(fan["user"]["id"]))) == server:
            fans.append(int(fan["user"]["id"]))

    settings.DB_POOL_MAX = 2  # pools opened from now on (a new runtime's) hold 2

    def follow_all_in_a_small_runtime() -> None:
        async def follow_all() -> None:
            await asyncio.gather(*(do_follow(viewer_id=f, target_id=star_id) for f in fans))

        runtime.run(asyncio.wait_for(follow_all(), timeout=30))

    await asyncio.to_thread(follow_all_in_a_small_runtime)
    assert (await _user(client, star["user"]["id"]))["followerCount"] == len(fans)
