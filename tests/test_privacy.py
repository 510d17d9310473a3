"""A private account's data is refused on every public path.

The paths are enumerated from the schema: every field that returns a list or
a connection must be in PATHS below, so a new one cannot be added without
saying how it treats a private account.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, get_named_type

from backend.graph.schema import schema
from tests.graphql import error_codes, gql, sign_up, upload
from tests.imagegen import phone_jpeg

# Every field that returns several things, and why a stranger cannot read a
# private account's through it.
PATHS = {
    ("User", "photos"): "checked below: FORBIDDEN for a private account's non-followers",
    ("User", "followers"): "checked below: FORBIDDEN for a private account's non-followers",
    ("User", "following"): "checked below: FORBIDDEN for a private account's non-followers",
    ("User", "sessions"): "checked below: FORBIDDEN for anyone but the user",
    ("Photo", "comments"): "checked below: a private photo is refused at photo(id:) first",
    ("Photo", "likers"): "checked below: a private photo is refused at photo(id:) and node(id:)",
    ("Query", "searchUsers"): "profiles only (username, name: public for private accounts too)",
    ("Query", "feed"): "the viewer's own: photos of accounts the viewer actively follows",
    ("Query", "activity"): "the viewer's own: what happened to the viewer",
    ("Query", "followRequests"): "the viewer's own: requests to follow the viewer",
}
CONNECTION_INTERNALS = {"edges"}  # a connection's edges are covered by its field

FOLLOW = "mutation($id: ID!) { follow(userId: $id) { id } }"
APPROVE = "mutation($id: ID!) { approveFollowRequest(userId: $id) { id } }"
USER_FIELD = "query($id: ID!) {{ user(id: $id) {{ id {field} }} }}"
READS = {
    "photos": "photos { edges { node { id } } }",
    "followers": "followers { edges { node { id } } }",
    "following": "following { edges { node { id } } }",
    "sessions": "sessions { id }",
}
PHOTO = "query($id: ID!) { photo(id: $id) { id url comments { edges { node { text } } } } }"


def _returns_many(field: Any) -> bool:
    inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    return isinstance(inner, GraphQLList) or get_named_type(field.type).name.endswith("Connection")


def test_every_field_that_returns_many_things_is_accounted_for() -> None:
    found = set()
    for type_ in schema._schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        if type_.name.endswith(("Connection", "Edge")):
            continue
        for name, field in type_.fields.items():
            if _returns_many(field) and name not in CONNECTION_INTERNALS:
                found.add((type_.name, name))
    assert found == set(PATHS), (
        f"fields not accounted for: {sorted(found - set(PATHS))}; "
        f"listed but gone: {sorted(set(PATHS) - found)}"
    )


async def _private_world(client: httpx.AsyncClient, unique: str) -> dict[str, Any]:
    owner = await sign_up(client, f"pv_{unique}")
    friend = await sign_up(client, f"pf_{unique}")
    stranger = await sign_up(client, f"ps_{unique}")
    await gql(client, "mutation { updateProfile(isPrivate: true) { id } }", token=owner["token"])
    body = await upload(client, owner["token"], phone_jpeg(64, 48, gps=False))
    photo_id = body["data"]["uploadPhoto"]["id"]
    await gql(client, 'mutation($id: ID!) { addComment(photoId: $id, text: "mine") { id } }',
              {"id": photo_id}, token=owner["token"])  # fmt: skip
    await gql(client, FOLLOW, {"id": owner["user"]["id"]}, token=friend["token"])
    await gql(client, APPROVE, {"id": friend["user"]["id"]}, token=owner["token"])
    # The owner follows the stranger too: a following list with someone in it.
    await gql(client, FOLLOW, {"id": stranger["user"]["id"]}, token=owner["token"])
    return {"owner": owner, "friend": friend, "stranger": stranger, "photo": photo_id}


async def test_a_private_account_is_refused_on_every_path(
    client: httpx.AsyncClient, unique: str
) -> None:
    world = await _private_world(client, unique)
    owner_id, photo_id = world["owner"]["user"]["id"], world["photo"]
    for who in ("stranger", None):  # signed in, and anonymous
        token = world[who]["token"] if who else None
        for field, selection in READS.items():
            body = await gql(client, USER_FIELD.format(field=selection), {"id": owner_id},
                             token=token)  # fmt: skip
            assert error_codes(body) == ["FORBIDDEN"], (who, field, body)
            assert "pv_" not in str(body.get("data")), (who, field, body)
        body = await gql(client, PHOTO, {"id": photo_id}, token=token)
        assert error_codes(body) == ["FORBIDDEN"], (who, body)
        assert body["data"] == {"photo": None}
        if token is not None:
            for mutation in (
                "mutation($id: ID!) { likePhoto(id: $id) { id } }",
                "mutation($id: ID!) { unlikePhoto(id: $id) { id } }",
                'mutation($id: ID!) { addComment(photoId: $id, text: "hi") { id } }',
            ):
                body = await gql(client, mutation, {"id": photo_id}, token=token)
                assert error_codes(body) == ["FORBIDDEN"], (mutation, body)
    # The stranger's own lists hold nothing of the private account.
    stranger = world["stranger"]["token"]
    feed = await gql(client, "{ feed { edges { node { id } } } }", token=stranger)
    assert photo_id not in str(feed["data"])
    activity = await gql(client, "{ activity { edges { node { photo { id } } } } }",
                         token=stranger)  # fmt: skip
    assert photo_id not in str(activity["data"])


async def test_an_approved_follower_sees_what_a_stranger_may_not(
    client: httpx.AsyncClient, unique: str
) -> None:
    """Control: the same reads succeed for the approved follower, so the
    refusals above are the policy, not broken queries."""
    world = await _private_world(client, unique)
    owner_id, photo_id = world["owner"]["user"]["id"], world["photo"]
    token = world["friend"]["token"]
    for field, selection in READS.items():
        body = await gql(client, USER_FIELD.format(field=selection), {"id": owner_id},
                         token=token)  # fmt: skip
        if field == "sessions":  # the user's alone, even for a friend
            assert error_codes(body) == ["FORBIDDEN"]
            continue
        assert error_codes(body) == [], (field, body)
        assert body["data"]["user"][field]["edges"], (field, body)
    body = await gql(client, PHOTO, {"id": photo_id}, token=token)
    assert error_codes(body) == []
    assert [e["node"]["text"] for e in body["data"]["photo"]["comments"]["edges"]] == ["mine"]
    own = await gql(client, USER_FIELD.format(field=READS["sessions"]), {"id": owner_id},
                    token=world["owner"]["token"])  # fmt: skip
    assert error_codes(own) == [] and own["data"]["user"]["sessions"]


async def test_the_domain_refuses_without_the_graph(client: httpx.AsyncClient, unique: str) -> None:
    """The selectors apply the policy themselves: a caller other than the
    graph layer (a command, a job) cannot read past it either."""
    from backend.accounts.selectors import get_users_by_ids
    from backend.errors import Forbidden
    from backend.social.policy import Viewer
    from backend.social.selectors.content import get_user_edges, get_user_photos

    world = await _private_world(client, unique)
    owner_id = int(world["owner"]["user"]["id"])
    [owner] = await get_users_by_ids([owner_id])
    assert owner is not None and owner.is_private
    stranger = Viewer.of(int(world["stranger"]["user"]["id"]))
    friend = Viewer.of(int(world["friend"]["user"]["id"]))
    for who in (stranger, Viewer.of(None)):
        with pytest.raises(Forbidden):
            await get_user_photos(who, owner, before=None, limit=10)
        for direction in ("followers", "following", "requests"):
            with pytest.raises(Forbidden):
                await get_user_edges(who, owner, direction, before=None, limit=10)
    assert [p.id for p in await get_user_photos(friend, owner, before=None, limit=10)] == [
        int(world["photo"])
    ]
    followers = await get_user_edges(friend, owner, "followers", before=None, limit=10)
    assert [e.user_id for e in followers] == [int(world["friend"]["user"]["id"])]
    with pytest.raises(Forbidden):  # requests: the owner's alone, even for a friend
        await get_user_edges(friend, owner, "requests", before=None, limit=10)
