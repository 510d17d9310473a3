"""Accounts through GraphQL over HTTP against the ASGI app and real servers."""

from __future__ import annotations

import asyncio

import pytest
from django.contrib.auth.hashers import identify_hasher

from backend.accounts.models import Account, AuthToken
from backend.accounts.selectors import token_hash
from backend.shards.ids import shard_of
from tests.graphql import LOG_IN, SIGN_UP, VIEWER, error_codes, gql, sign_up


async def test_sign_up_returns_token_and_user(client, unique):
    payload = await sign_up(client, f"Ann_{unique}")
    user = payload["user"]
    assert user["username"] == f"Ann_{unique}"
    assert user["isPrivate"] is False
    assert user["fullName"] is None
    assert len(payload["token"]) >= 40
    body = await gql(client, VIEWER, token=payload["token"])
    assert body["data"]["viewer"] == {"id": user["id"], "username": f"Ann_{unique}"}


async def test_user_id_names_a_logical_shard_holding_the_profile(client, unique):
    payload = await sign_up(client, f"sh_{unique}")
    user_id = int(payload["user"]["id"])
    from backend.accounts.models import Profile
    from backend.shards import routing

    rows = await routing.aquery(
        shard_of(user_id),
        f'SELECT user_id FROM {{schema}}."{Profile._meta.db_table}" WHERE user_id = %s',
        [user_id],
    )
    assert [r["user_id"] for r in rows] == [user_id]


async def test_password_and_token_are_stored_hashed(client, unique):
    payload = await sign_up(client, f"h_{unique}", password="s3cret-password")
    account = await Account.objects.aget(username=f"h_{unique}")
    assert "s3cret-password" not in account.password
    assert identify_hasher(account.password) is not None
    assert not await AuthToken.objects.filter(key_hash=payload["token"]).aexists()
    assert await AuthToken.objects.filter(key_hash=token_hash(payload["token"])).aexists()


async def test_username_is_unique_case_insensitively(client, unique):
    await sign_up(client, f"Dup_{unique}")
    body = await gql(client, SIGN_UP, {"username": f"dUP_{unique}", "password": "long enough pw"})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "taken" in body["errors"][0]["message"]


async def test_concurrent_sign_ups_with_one_name_create_one_account(client, unique):
    name = f"race_{unique}"
    results = await asyncio.gather(
        *(gql(client, SIGN_UP, {"username": name, "password": "long enough pw"}) for _ in range(6))
    )
    ok = [r for r in results if "errors" not in r]
    assert len(ok) == 1
    assert all(error_codes(r) == ["BAD_USER_INPUT"] for r in results if "errors" in r)
    assert await Account.objects.filter(username__iexact=name).acount() == 1


@pytest.mark.parametrize(
    "username",
    ["", "a" * 31, "has space", "dash-name", "émile", "semi;colon", "slash/"],
)
async def test_bad_usernames_are_rejected(client, username):
    body = await gql(client, SIGN_UP, {"username": username, "password": "long enough pw"})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["data"] is None


async def test_username_limits_accept_the_allowed_alphabet(client, unique):
    name = f"a.b_C9{unique}"[:30]
    payload = await sign_up(client, name)
    assert payload["user"]["username"] == name


async def test_short_password_and_bad_email_are_rejected(client, unique):
    short = await gql(client, SIGN_UP, {"username": f"p_{unique}", "password": "short"})
    assert error_codes(short) == ["BAD_USER_INPUT"]
    email = await gql(
        client,
        SIGN_UP,
        {"username": f"e_{unique}", "password": "long enough pw", "email": "not-an-email"},
    )
    assert error_codes(email) == ["BAD_USER_INPUT"]
    assert not await Account.objects.filter(username__in=[f"p_{unique}", f"e_{unique}"]).aexists()


async def test_log_in_is_case_insensitive_on_username(client, unique):
    await sign_up(client, f"Log_{unique}", password="the right password")
    body = await gql(
        client, LOG_IN, {"username": f"lOG_{unique}", "password": "the right password"}
    )
    assert "errors" not in body, body
    assert body["data"]["logIn"]["user"]["username"] == f"Log_{unique}"
    viewer = await gql(client, VIEWER, token=body["data"]["logIn"]["token"])
    assert viewer["data"]["viewer"]["username"] == f"Log_{unique}"


async def test_wrong_password_and_unknown_user_get_the_same_error(client, unique):
    await sign_up(client, f"w_{unique}", password="the right password")
    wrong = await gql(client, LOG_IN, {"username": f"w_{unique}", "password": "not the password"})
    unknown = await gql(client, LOG_IN, {"username": f"nobody_{unique}", "password": "whatever"})
    assert error_codes(wrong) == error_codes(unknown) == ["UNAUTHENTICATED"]
    assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"]


async def test_log_out_revokes_only_that_token(client, unique):
    first = await sign_up(client, f"o_{unique}", password="the right password")
    second = await gql(
        client, LOG_IN, {"username": f"o_{unique}", "password": "the right password"}
    )
    other_token = second["data"]["logIn"]["token"]
    out = await gql(client, "mutation { logOut }", token=first["token"])
    assert out.get("errors") is None and out["data"] == {"logOut": True}
    revoked = await gql(client, VIEWER, token=first["token"])
    assert revoked["data"]["viewer"] is None and error_codes(revoked) == ["UNAUTHENTICATED"]
    again = await gql(client, "mutation { logOut }", token=first["token"])
    assert error_codes(again) == ["UNAUTHENTICATED"]
    assert (await gql(client, VIEWER, token=other_token))["data"]["viewer"][
        "username"
    ] == f"o_{unique}"


async def test_anonymous_viewer_is_null_and_log_out_needs_a_token(client):
    assert (await gql(client, VIEWER))["data"] == {"viewer": None}
    body = await gql(client, "mutation { logOut }")
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_user_by_username_and_id(client, unique):
    payload = await sign_up(client, f"Find_{unique}")
    user_id = payload["user"]["id"]
    q = "query($u: String, $i: ID) { user(username: $u, id: $i) { id username } }"
    by_name = await gql(client, q, {"u": f"FIND_{unique}"})
    assert by_name["data"]["user"] == {"id": user_id, "username": f"Find_{unique}"}
    by_id = await gql(client, q, {"i": user_id})
    assert by_id["data"]["user"] == {"id": user_id, "username": f"Find_{unique}"}
    missing = await gql(client, q, {"u": f"ghost_{unique}"})
    assert missing["data"]["user"] is None
    both = await gql(client, q, {"u": "x", "i": user_id})
    assert error_codes(both) == ["BAD_USER_INPUT"]
    bad_id = await gql(client, q, {"i": "not-a-number"})
    assert error_codes(bad_id) == ["BAD_USER_INPUT"]


async def test_invalid_query_gets_a_coded_error_not_a_trace(client):
    body = await gql(client, "{ viewer { noSuchField } }")
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "Traceback" not in str(body)


async def test_too_deep_query_is_refused_with_a_stable_code(settings):
    # The public schema is still shallow; a schema built with a lower limit
    # shows the limiter and the error mapping are wired.
    from backend.graph.errors import format_error
    from backend.graph.schema import build_schema

    settings.GRAPHQL_MAX_DEPTH = 0
    result = await build_schema().execute("{ viewer { id } }")
    assert [format_error(e)["extensions"]["code"] for e in result.errors or []] == [
        "QUERY_TOO_COMPLEX"
    ]
