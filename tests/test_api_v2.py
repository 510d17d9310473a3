"""The v2 contract (issue 15): local errors, one page rule, refetching by ID,
payloads for client caches, followsViewer, likers. GraphQL through HTTP
against the real servers."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image

from tests.graphql import error_codes, gql, sign_up, upload
from tests.imagegen import phone_jpeg, png_bytes

FOLLOW = "mutation($id: ID!) { follow(userId: $id) { id } }"
PRIVATE = "mutation { updateProfile(isPrivate: true) { id } }"
LIKE = "mutation($id: ID!) { likePhoto(id: $id) { id } }"
COMMENT = "mutation($id: ID!, $t: String!) { addComment(photoId: $id, text: $t) { id } }"
PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


async def _photo(client: httpx.AsyncClient, token: str, caption: str = "") -> str:
    body = await upload(client, token, phone_jpeg(64, 48, gps=False), caption=caption)
    assert "errors" not in body, body
    photo_id: str = body["data"]["uploadPhoto"]["id"]
    return photo_id


async def _ok(client: httpx.AsyncClient, query: str, variables: Any = None, **kw: Any) -> Any:
    body = await gql(client, query, variables, **kw)
    assert "errors" not in body, body
    return body["data"]


# ---------------------------------------------------------------- errors stay local


async def test_a_stranger_gets_a_private_profile_with_an_error_only_on_its_photos(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(client, f"lp_{unique}")
    stranger = await sign_up(client, f"ls_{unique}")
    await _ok(client, PRIVATE, token=owner["token"])
    await _photo(client, owner["token"])
    query = """query($id: ID!) { user(id: $id) {
        id username isPrivate photoCount viewerFollows
        photos(first: 3) { edges { node { id } } }
        followers { edges { node { id } } } } }"""
    for token in (stranger["token"], None):
        body = await gql(client, query, {"id": owner["user"]["id"]}, token=token)
        user = body["data"]["user"]
        assert user["username"] == f"lp_{unique}" and user["isPrivate"] is True
        assert user["photoCount"] == 1
        assert user["photos"] is None and user["followers"] is None
        assert sorted((e["path"], e["extensions"]["code"]) for e in body["errors"]) == [
            (["user", "followers"], "FORBIDDEN"),
            (["user", "photos"], "FORBIDDEN"),
        ]


async def test_anonymous_viewer_and_feed_in_one_request_keep_the_data(
    client: httpx.AsyncClient,
) -> None:
    body = await gql(
        client,
        "{ viewer { id } feed { edges { node { id } } } activity { edges { node { id } } } "
        "followRequests { edges { node { id } } } }",
    )
    assert body["data"] == {
        "viewer": None,
        "feed": None,
        "activity": None,
        "followRequests": None,
    }
    assert error_codes(body) == ["UNAUTHENTICATED"] * 3


async def test_a_revoked_token_is_unauthenticated_and_no_token_is_anonymous(
    client: httpx.AsyncClient, unique: str
) -> None:
    user = await sign_up(client, f"rv_{unique}")
    await _ok(client, "mutation { logOut }", token=user["token"])
    revoked = await gql(client, "{ viewer { id } }", token=user["token"])
    assert revoked["data"] == {"viewer": None}
    assert error_codes(revoked) == ["UNAUTHENTICATED"]
    forged = await gql(client, "{ viewer { id } }", token="not-a-token")
    assert error_codes(forged) == ["UNAUTHENTICATED"]
    anonymous = await gql(client, "{ viewer { id } }")
    assert anonymous == {"data": {"viewer": None}, "extensions": anonymous["extensions"]}


# ---------------------------------------------------------------- one page rule


async def test_feed_first_zero_skips_nothing_and_pages_agree(
    client: httpx.AsyncClient, unique: str
) -> None:
    """The found bug: feed(first: 0) returned an endCursor past the two newest photos."""
    from tests.queues import drain

    poster = await sign_up(client, f"fp_{unique}")
    reader = await sign_up(client, f"fr_{unique}")
    await _ok(client, FOLLOW, {"id": poster["user"]["id"]}, token=reader["token"])
    ids = [await _photo(client, poster["token"], caption=str(n)) for n in range(3)]
    await drain()
    newest_first = ids[::-1]
    feed = f"query($f: Int, $a: String) {{ feed(first: $f, after: $a) {{ edges {{ node {{ id }} }} {PAGE} }} }}"  # noqa: E501

    empty = (await _ok(client, feed, {"f": 0}, token=reader["token"]))["feed"]
    assert empty["edges"] == []
    assert empty["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }
    one = (await _ok(client, feed, {"f": 1}, token=reader["token"]))["feed"]
    assert [e["node"]["id"] for e in one["edges"]] == newest_first[:1]
    after = one["pageInfo"]["endCursor"]
    assert one["pageInfo"]["startCursor"] == after and not one["pageInfo"]["hasPreviousPage"]
    # An empty page in the middle stays where it was asked: nothing skipped.
    middle = (await _ok(client, feed, {"f": 0, "a": after}, token=reader["token"]))["feed"]
    assert middle["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": True,
        "startCursor": after,
        "endCursor": after,
    }
    rest = (await _ok(client, feed, {"f": 10, "a": middle["pageInfo"]["endCursor"]},
                      token=reader["token"]))["feed"]  # fmt: skip
    assert [e["node"]["id"] for e in rest["edges"]] == newest_first[1:]
    assert rest["pageInfo"]["hasNextPage"] is False
    # Past the end: an empty page that stays put too.
    end = rest["pageInfo"]["endCursor"]
    past = (await _ok(client, feed, {"f": 10, "a": end}, token=reader["token"]))["feed"]
    assert past["edges"] == [] and past["pageInfo"]["endCursor"] == end
    assert past["pageInfo"]["hasNextPage"] is False


async def test_every_list_follows_the_empty_page_rule(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(client, f"el_{unique}")
    fans = [await sign_up(client, f"el{n}_{unique}") for n in range(2)]
    await _photo(client, owner["token"])
    photo_id = await _photo(client, owner["token"])
    for fan in fans:
        await _ok(client, FOLLOW, {"id": owner["user"]["id"]}, token=fan["token"])
        await _ok(client, LIKE, {"id": photo_id}, token=fan["token"])
        await _ok(client, COMMENT, {"id": photo_id, "t": "hi"}, token=fan["token"])
    lists = {
        "photos": ("query($id: ID!, $f: Int, $a: String) { node(id: $id) { ... on User { "
                   f"photos(first: $f, after: $a) {{ edges {{ cursor }} {PAGE} }} }} }} }}",
                   owner["user"]["id"], None),
        "followers": ("query($id: ID!, $f: Int, $a: String) { node(id: $id) { ... on User { "
                      f"followers(first: $f, after: $a) {{ edges {{ cursor }} {PAGE} }} }} }} }}",
                      owner["user"]["id"], None),
        "comments": ("query($id: ID!, $f: Int, $a: String) { node(id: $id) { ... on Photo { "
                     f"comments(first: $f, after: $a) {{ edges {{ cursor }} {PAGE} }} }} }} }}",
                     photo_id, None),
        "likers": ("query($id: ID!, $f: Int, $a: String) { node(id: $id) { ... on Photo { "
                   f"likers(first: $f, after: $a) {{ edges {{ cursor }} {PAGE} }} }} }} }}",
                   photo_id, None),
        "activity": ("query($f: Int, $a: String) { "
                     f"activity(first: $f, after: $a) {{ edges {{ cursor }} {PAGE} }} }}",
                     None, owner["token"]),
    }  # fmt: skip
    for name, (query, node_id, token) in lists.items():

        async def page(first: int, after: str | None, query: str = query, node_id: Any = node_id,
                       token: Any = token, name: str = name) -> dict[str, Any]:  # fmt: skip
            variables = {"f": first, "a": after} | ({"id": node_id} if node_id else {})
            data = await _ok(client, query, variables, token=token or owner["token"])
            found: dict[str, Any] = data["activity"] if name == "activity" else data["node"][name]
            return found

        empty = await page(0, None)
        assert empty["edges"] == [] and empty["pageInfo"]["endCursor"] is None, name
        assert empty["pageInfo"]["hasNextPage"] is True, name
        first = await page(1, None)
        cursor = first["pageInfo"]["endCursor"]
        assert cursor == first["edges"][0]["cursor"] == first["pageInfo"]["startCursor"], name
        middle = await page(0, cursor)
        assert middle["pageInfo"] == {
            "hasNextPage": True,
            "hasPreviousPage": True,
            "startCursor": cursor,
            "endCursor": cursor,
        }, name
        rest = await page(100, cursor)
        assert rest["edges"] and rest["edges"][0]["cursor"] != cursor, name


# ---------------------------------------------------------------- relations and payloads


async def test_follows_viewer_and_an_approved_request(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(client, f"fv_{unique}")
    requester = await sign_up(client, f"fq_{unique}")
    await _ok(client, PRIVATE, token=owner["token"])
    await _ok(client, FOLLOW, {"id": owner["user"]["id"]}, token=requester["token"])
    query = "query($id: ID!) { user(id: $id) { followsViewer viewerFollows viewerHasRequested } }"
    seen = await _ok(client, query, {"id": requester["user"]["id"]}, token=owner["token"])
    assert seen["user"] == {"followsViewer": False, "viewerFollows": False,
                            "viewerHasRequested": False}  # fmt: skip
    approved = await _ok(
        client,
        "mutation($id: ID!) { approveFollowRequest(userId: $id) "
        "{ id followsViewer viewerFollows } }",
        {"id": requester["user"]["id"]},
        token=owner["token"],
    )
    assert approved["approveFollowRequest"] == {
        "id": requester["user"]["id"],
        "followsViewer": True,
        "viewerFollows": False,
    }
    back = await _ok(client, query, {"id": owner["user"]["id"]}, token=requester["token"])
    assert back["user"]["viewerFollows"] is True and back["user"]["followsViewer"] is False
    anonymous = await _ok(client, query, {"id": requester["user"]["id"]})
    assert anonymous["user"]["followsViewer"] is False


async def test_likers_newest_first_in_pages(client: httpx.AsyncClient, unique: str) -> None:
    owner = await sign_up(client, f"lk_{unique}")
    photo_id = await _photo(client, owner["token"])
    fans = [await sign_up(client, f"lk{n}_{unique}") for n in range(3)]
    for fan in fans:
        await _ok(client, LIKE, {"id": photo_id}, token=fan["token"])
    query = f"""query($id: ID!, $a: String) {{ photo(id: $id) {{ likeCount
        likers(first: 2, after: $a) {{ edges {{ node {{ username }} }} {PAGE} }} }} }}"""
    first = (await _ok(client, query, {"id": photo_id}))["photo"]
    assert first["likeCount"] == 3
    assert [e["node"]["username"] for e in first["likers"]["edges"]] == [
        f"lk2_{unique}",
        f"lk1_{unique}",
    ]
    assert first["likers"]["pageInfo"]["hasNextPage"] is True
    after = first["likers"]["pageInfo"]["endCursor"]
    second = (await _ok(client, query, {"id": photo_id, "a": after}))["photo"]["likers"]
    assert [e["node"]["username"] for e in second["edges"]] == [f"lk0_{unique}"]
    assert second["pageInfo"]["hasNextPage"] is False


async def test_mutations_return_what_a_normalised_cache_needs(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(client, f"mc_{unique}")
    token = owner["token"]
    photo_id = await _photo(client, token)
    added = await _ok(
        client,
        'mutation($id: ID!) { addComment(photoId: $id, text: "first") '
        "{ id text photo { id commentCount } } }",
        {"id": photo_id},
        token=token,
    )
    comment = added["addComment"]
    assert comment["photo"] == {"id": photo_id, "commentCount": 1}
    removed = await _ok(
        client,
        "mutation($id: ID!) { removeComment(id: $id) "
        "{ deletedCommentId photo { id commentCount } } }",
        {"id": comment["id"]},
        token=token,
    )
    assert removed["removeComment"] == {
        "deletedCommentId": comment["id"],
        "photo": {"id": photo_id, "commentCount": 0},
    }
    # The deprecated forms still answer as before.
    old = await _ok(client, COMMENT, {"id": photo_id, "t": "again"}, token=token)
    old_delete = "mutation($id: ID!) { deleteComment(id: $id) }"
    assert await _ok(client, old_delete, {"id": old["addComment"]["id"]}, token=token) == {
        "deleteComment": True
    }
    second = await _photo(client, token)
    gone = await _ok(
        client,
        "mutation($id: ID!) { removePhoto(id: $id) { deletedPhotoId owner { id photoCount } } }",
        {"id": photo_id},
        token=token,
    )
    assert gone["removePhoto"] == {
        "deletedPhotoId": photo_id,
        "owner": {"id": owner["user"]["id"], "photoCount": 1},
    }
    assert await _ok(client, "mutation($id: ID!) { deletePhoto(id: $id) }", {"id": second},
                     token=token) == {"deletePhoto": True}  # fmt: skip
    again = await gql(client, "mutation($id: ID!) { removePhoto(id: $id) { deletedPhotoId } }",
                      {"id": photo_id}, token=token)  # fmt: skip
    assert error_codes(again) == ["NOT_FOUND"]


# ---------------------------------------------------------------- node(id:)

NODE = """query($id: ID!) { node(id: $id) { __typename id
    ... on User { username } ... on Photo { owner { id } } ... on Comment { text } } }"""


async def test_node_refetches_users_photos_and_comments_by_todays_ids(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(client, f"nd_{unique}")
    photo_id = await _photo(client, owner["token"])
    comment = await _ok(client, COMMENT, {"id": photo_id, "t": "node"}, token=owner["token"])
    comment_id = comment["addComment"]["id"]
    user = (await _ok(client, NODE, {"id": owner["user"]["id"]}))["node"]
    assert user == {"__typename": "User", "id": owner["user"]["id"], "username": f"nd_{unique}"}
    photo = (await _ok(client, NODE, {"id": photo_id}))["node"]
    assert photo == {"__typename": "Photo", "id": photo_id, "owner": {"id": owner["user"]["id"]}}
    found = (await _ok(client, NODE, {"id": comment_id}))["node"]
    assert found == {"__typename": "Comment", "id": comment_id, "text": "node"}
    # A well-formed ID that names nothing, and one that cannot be ours.
    missing = str(int(photo_id) + 1)
    assert (await _ok(client, NODE, {"id": missing})) == {"node": None}
    bad = await gql(client, NODE, {"id": "Photo:12"})
    assert error_codes(bad) == ["BAD_USER_INPUT"] and bad["data"] == {"node": None}


async def test_node_keeps_a_private_accounts_photos_and_comments_private(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(client, f"np_{unique}")
    stranger = await sign_up(client, f"ns_{unique}")
    await _ok(client, PRIVATE, token=owner["token"])
    photo_id = await _photo(client, owner["token"])
    comment = await _ok(client, COMMENT, {"id": photo_id, "t": "secret"}, token=owner["token"])
    for object_id in (photo_id, comment["addComment"]["id"]):
        for token in (stranger["token"], None):
            body = await gql(client, NODE, {"id": object_id}, token=token)
            assert error_codes(body) == ["FORBIDDEN"] and body["data"] == {"node": None}
    # The profile itself is public, as user(id:) shows it.
    user = await _ok(client, NODE, {"id": owner["user"]["id"]}, token=stranger["token"])
    assert user["node"]["username"] == f"np_{unique}"
    likers_query = "query($id: ID!) { photo(id: $id) { likers { edges { node { id } } } } }"
    likers = await gql(client, likers_query, {"id": photo_id}, token=stranger["token"])
    assert error_codes(likers) == ["FORBIDDEN"] and likers["data"] == {"photo": None}


# ---------------------------------------------------------------- renditions


async def test_a_small_upload_gets_small_squares_and_a_large_one_a_640_square(
    client: httpx.AsyncClient, unique: str
) -> None:
    """Found: a 60x40 upload got a stretched 150x150 thumbnail."""
    user = await sign_up(client, f"sq_{unique}")
    query = """mutation($file: Upload!, $caption: String) {
      uploadPhoto(file: $file, caption: $caption) {
        width height thumbnail: url(size: THUMBNAIL) square: url(size: SQUARE) } }"""
    for (width, height), expect in (((60, 40), (40, 40)), ((1600, 1200), (640, 640))):
        body = await upload(client, user["token"], png_bytes(width, height),
                            filename="x.png", content_type="image/png", query=query)  # fmt: skip
        assert "errors" not in body, body
        photo = body["data"]["uploadPhoto"]
        async with httpx.AsyncClient(timeout=30) as cdn:
            square = Image.open(io.BytesIO((await cdn.get(photo["square"])).content))
            thumb = Image.open(io.BytesIO((await cdn.get(photo["thumbnail"])).content))
        assert square.size == expect
        assert thumb.size == (min(150, expect[0]),) * 2
