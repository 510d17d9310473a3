"""Sessions over GraphQL against the real servers: sliding expiry, the
viewer's session list, logOut and logOutEverywhere with the devices
registered through a session.

Expiry is tested two ways: by ageing a token's row with SQL (against the
stack's gunicorn, whose TOKEN_TTL is the 30-day default), and with a TTL of
two seconds set on the in-process app through pytest-django's `settings`.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from backend.accounts.models import AuthToken
from backend.accounts.selectors import TOUCH_INTERVAL_MAX, token_hash
from backend.notifications.models import DeviceToken
from backend.notifications.selectors import get_device_tokens
from backend.shards import db
from backend.shards.stats import count_statements
from tests.graphql import LOG_IN, SIGN_UP, VIEWER, error_codes, gql, sign_up

TOKEN = AuthToken._meta.db_table
DEVICE = DeviceToken._meta.db_table
PASSWORD = "correct horse battery"
SESSIONS = "{ viewer { id sessions { id createdAt lastUsedAt device current } } }"
REGISTER = "mutation($t: String!) { registerDevice(token: $t) }"
UNREGISTER = "mutation($t: String!) { unregisterDevice(token: $t) }"
EVERYWHERE = "mutation { logOutEverywhere }"
DEFAULT_TTL = timedelta(days=30)


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    user_agent: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if user_agent is not None:
        headers["User-Agent"] = user_agent
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def log_in(client: httpx.AsyncClient, username: str, user_agent: str | None = None) -> str:
    body = await post(
        client, LOG_IN, {"username": username, "password": PASSWORD}, user_agent=user_agent
    )
    assert "errors" not in body, body
    return str(body["data"]["logIn"]["token"])


async def last_used(token: str) -> datetime | None:
    rows = await db.aexecute(
        db.DIRECTORY,
        f'SELECT last_used_at FROM "{TOKEN}" WHERE key_hash = %s',
        [token_hash(token)],
    )
    return rows[0]["last_used_at"] if rows else None


async def set_last_used(token: str, ago: timedelta) -> datetime:
    """Pretend the token was last used `ago` before now (the database's clock)."""
    rows = await db.aexecute(
        db.DIRECTORY,
        f'UPDATE "{TOKEN}" SET last_used_at = now() - %s WHERE key_hash = %s '
        "RETURNING last_used_at",
        [ago, token_hash(token)],
    )
    assert rows, "no such token"
    value: datetime = rows[0]["last_used_at"]
    return value


async def db_now() -> datetime:
    rows = await db.aexecute(db.DIRECTORY, "SELECT now() AS now")
    value: datetime = rows[0]["now"]
    return value


async def devices_of(account_id: int) -> set[str]:
    rows = await db.aexecute(
        db.DIRECTORY, f'SELECT token FROM "{DEVICE}" WHERE account_id = %s', [account_id]
    )
    return {r["token"] for r in rows}


async def viewer_id(client: httpx.AsyncClient, token: str) -> str | None:
    """The token's user; None when the token is refused (viewer null, UNAUTHENTICATED)."""
    body = await gql(client, VIEWER, token=token)
    viewer = body["data"]["viewer"]
    assert error_codes(body) == ([] if viewer else ["UNAUTHENTICATED"]), body
    return viewer["id"] if viewer else None


# Expiry and sliding


async def test_a_token_unused_for_the_ttl_is_refused(live, unique):
    user = await sign_up(live, f"exp_{unique}")
    token = user["token"]
    await set_last_used(token, DEFAULT_TTL - timedelta(minutes=1))
    assert await viewer_id(live, token) == user["user"]["id"]

    await set_last_used(token, DEFAULT_TTL + timedelta(seconds=1))
    assert await viewer_id(live, token) is None
    body = await gql(live, "mutation { logOut }", token=token)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    # Refusing it did not bring it back to life.
    used = await last_used(token)
    assert used is not None and used < await db_now() - DEFAULT_TTL


async def test_using_a_token_slides_its_expiry(live, unique):
    user = await sign_up(live, f"slide_{unique}")
    token = user["token"]
    aged = await set_last_used(token, DEFAULT_TTL - timedelta(minutes=1))
    assert await viewer_id(live, token) == user["user"]["id"]
    used = await last_used(token)
    assert used is not None and used > aged + DEFAULT_TTL - timedelta(minutes=2)
    assert used >= await db_now() - timedelta(seconds=30)


async def test_a_token_used_within_its_ttl_lives_past_it(client, unique, settings):
    settings.TOKEN_TTL = 2
    user = await sign_up(client, f"ttl_{unique}")
    token = user["token"]
    for _ in range(3):  # 3.6 s in all, each use 1.2 s after the last
        await asyncio.sleep(1.2)
        assert await viewer_id(client, token) == user["user"]["id"]
    await asyncio.sleep(2.5)
    assert await viewer_id(client, token) is None
    assert error_codes(await gql(client, EVERYWHERE, token=token)) == ["UNAUTHENTICATED"]


async def test_a_recent_use_is_not_written_again(client, unique):
    user = await sign_up(client, f"touch_{unique}")
    token = user["token"]

    async def statements() -> dict[str, int]:
        with count_statements() as counter:
            body = await gql(client, "{ __typename }", token=token)
        assert body["data"] == {"__typename": "Query"}
        return dict(counter)

    recent = await set_last_used(token, timedelta(seconds=10))
    assert await statements() == {"default": 1}, "the lookup alone"
    assert await last_used(token) == recent, "used 10 s ago: nothing written"

    stale = await set_last_used(token, TOUCH_INTERVAL_MAX + timedelta(seconds=10))
    assert await statements() == {"default": 2}, "the lookup and the write"
    written = await last_used(token)
    assert written is not None and written > stale + TOUCH_INTERVAL_MAX
    assert await statements() == {"default": 1}, "written: a plain lookup again"
    assert await last_used(token) == written


# viewer.sessions


async def test_viewer_sessions_lists_them_with_the_current_one(client, unique):
    name = f"ses_{unique}"
    body = await post(
        client, SIGN_UP, {"username": name, "password": PASSWORD}, user_agent="PhotoApp/1.0 iOS"
    )
    first = body["data"]["signUp"]["token"]
    second = await log_in(client, name, user_agent="Mozilla/5.0 (X11; Linux x86_64)")
    long_agent = "A" * 300
    third = await log_in(client, name, user_agent=long_agent)
    blank = await log_in(client, name, user_agent="   ")
    await set_last_used(first, timedelta(hours=1))
    await set_last_used(third, timedelta(hours=2))

    body = await gql(client, SESSIONS, token=second)
    assert "errors" not in body, body
    sessions = body["data"]["viewer"]["sessions"]
    # Most recently used first: blank and second (signed in just now), first (1 h), third (2 h).
    assert [s["device"] for s in sessions] == [
        None,
        "Mozilla/5.0 (X11; Linux x86_64)",
        "PhotoApp/1.0 iOS",
        "A" * 200,
    ]
    assert [s["current"] for s in sessions] == [False, True, False, False]
    ids = [s["id"] for s in sessions]
    assert len(set(ids)) == 4
    tokens = {first, second, third, blank}
    shown = {token_hash(t) for t in tokens} | tokens
    assert not any(i in t or t in i for i in ids for t in shown)
    first_row = sessions[2]
    assert datetime.fromisoformat(first_row["createdAt"]) - datetime.fromisoformat(
        first_row["lastUsedAt"]
    ) > timedelta(minutes=59)

    # The first session sees the same sessions, itself current and now the most recent.
    again = (await gql(client, SESSIONS, token=first))["data"]["viewer"]["sessions"]
    assert [s["id"] for s in again] == [ids[2], ids[0], ids[1], ids[3]]
    assert [s["current"] for s in again] == [True, False, False, False]


async def test_expired_and_ended_sessions_are_not_listed(client, unique):
    user = await sign_up(client, f"gone_{unique}")
    name = user["user"]["username"]
    expired = await log_in(client, name)
    ended = await log_in(client, name)
    await set_last_used(expired, DEFAULT_TTL + timedelta(minutes=1))
    assert (await gql(client, "mutation { logOut }", token=ended))["data"] == {"logOut": True}
    sessions = (await gql(client, SESSIONS, token=user["token"]))["data"]["viewer"]["sessions"]
    assert len(sessions) == 1 and sessions[0]["current"] is True


async def test_another_users_sessions_are_forbidden(live, unique):
    owner = await sign_up(live, f"own_{unique}")
    other = await sign_up(live, f"peek_{unique}")
    query = "query($id: ID) { user(id: $id) { username sessions { id } } }"
    for token in (other["token"], None):
        body = await gql(live, query, {"id": owner["user"]["id"]}, token=token)
        assert body["data"] == {"user": {"username": f"own_{unique}", "sessions": None}}
        assert error_codes(body) == ["FORBIDDEN"]
        assert body["errors"][0]["path"] == ["user", "sessions"]
    mine = await gql(live, query, {"id": owner["user"]["id"]}, token=owner["token"])
    assert "errors" not in mine, mine
    assert [s["id"] for s in mine["data"]["user"]["sessions"]] != []


# logOut, logOutEverywhere and devices


async def test_log_out_unregisters_the_device_of_that_session(live, unique):
    user = await sign_up(live, f"lod_{unique}")
    account_id = int(user["user"]["id"])
    name = f"lod_{unique}"
    phone, tablet = user["token"], await log_in(live, name)
    phone_device, tablet_device = secrets.token_hex(32), secrets.token_hex(32)
    for token, device in ((phone, phone_device), (tablet, tablet_device)):
        assert (await gql(live, REGISTER, {"t": device}, token=token))["data"] == {
            "registerDevice": True
        }
    assert await devices_of(account_id) == {phone_device, tablet_device}

    assert (await gql(live, "mutation { logOut }", token=phone))["data"] == {"logOut": True}
    assert await devices_of(account_id) == {tablet_device}
    assert await viewer_id(live, tablet) == user["user"]["id"]
    # unregisterDevice still works on its own.
    body = await gql(live, UNREGISTER, {"t": tablet_device}, token=tablet)
    assert body.get("errors") is None and body["data"] == {"unregisterDevice": True}
    assert await devices_of(account_id) == set()


async def test_log_out_leaves_a_device_registered_again_elsewhere(live, unique):
    ann = await sign_up(live, f"ann_{unique}")
    bob = await sign_up(live, f"bob_{unique}")
    ann_again = await log_in(live, f"ann_{unique}")
    shared, moved = secrets.token_hex(32), secrets.token_hex(32)
    for device in (shared, moved):
        body = await gql(live, REGISTER, {"t": device}, token=ann["token"])
        assert body.get("errors") is None and body["data"] == {"registerDevice": True}
    # Bob signs in on the phone that had `moved`; Ann's other session takes `shared`.
    assert (await gql(live, REGISTER, {"t": moved}, token=bob["token"]))["data"]
    assert (await gql(live, REGISTER, {"t": shared}, token=ann_again))["data"]

    assert (await gql(live, "mutation { logOut }", token=ann["token"]))["data"] == {"logOut": True}
    assert await devices_of(int(ann["user"]["id"])) == {shared}
    assert await devices_of(int(bob["user"]["id"])) == {moved}


async def test_log_out_everywhere_ends_every_session_and_its_devices(live, unique):
    user = await sign_up(live, f"all_{unique}")
    account_id = int(user["user"]["id"])
    name = f"all_{unique}"
    tokens = [user["token"], *[await log_in(live, name) for _ in range(3)]]
    expired = await log_in(live, name)
    await set_last_used(expired, DEFAULT_TTL + timedelta(minutes=1))
    devices = [secrets.token_hex(32) for _ in tokens[:2]]
    for token, device in zip(tokens, devices, strict=False):
        assert (await gql(live, REGISTER, {"t": device}, token=token))["data"]
    bystander = await sign_up(live, f"by_{unique}")
    bystander_device = secrets.token_hex(32)
    assert (await gql(live, REGISTER, {"t": bystander_device}, token=bystander["token"]))["data"]

    body = await gql(live, EVERYWHERE, token=tokens[-1])
    assert body.get("errors") is None and body["data"] == {"logOutEverywhere": 4}, (
        "4 live sessions; the expired one uncounted"
    )
    for token in [*tokens, expired]:
        assert await viewer_id(live, token) is None
    assert await devices_of(account_id) == set()
    rows = await db.aexecute(
        db.DIRECTORY, f'SELECT count(*) AS n FROM "{TOKEN}" WHERE account_id = %s', [account_id]
    )
    assert rows[0]["n"] == 0
    assert await viewer_id(live, bystander["token"]) == bystander["user"]["id"]
    assert await devices_of(int(bystander["user"]["id"])) == {bystander_device}

    assert error_codes(await gql(live, EVERYWHERE, token=tokens[0])) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(live, EVERYWHERE)) == ["UNAUTHENTICATED"]
    # Signing in again works, with a fresh list.
    again = await log_in(live, name)
    sessions = (await gql(live, SESSIONS, token=again))["data"]["viewer"]["sessions"]
    assert [s["current"] for s in sessions] == [True]


async def test_a_device_of_an_expired_session_gets_no_pushes(live, unique):
    user = await sign_up(live, f"push_{unique}")
    account_id = int(user["user"]["id"])
    stale = await log_in(live, f"push_{unique}")
    live_device, stale_device = secrets.token_hex(32), secrets.token_hex(32)
    assert (await gql(live, REGISTER, {"t": live_device}, token=user["token"]))["data"]
    assert (await gql(live, REGISTER, {"t": stale_device}, token=stale))["data"]
    found = await get_device_tokens(account_ids=[account_id])
    assert sorted(found[account_id]) == sorted([live_device, stale_device])

    await set_last_used(stale, DEFAULT_TTL + timedelta(minutes=1))
    assert await get_device_tokens(account_ids=[account_id]) == {account_id: [live_device]}


async def test_signing_in_drops_expired_sessions_and_caps_the_rest(client, unique, monkeypatch):
    from backend.accounts import services as accounts

    monkeypatch.setattr(accounts, "MAX_SESSIONS", 3)
    user = await sign_up(client, f"cap_{unique}")
    name = f"cap_{unique}"
    expired = await log_in(client, name)
    await set_last_used(expired, DEFAULT_TTL + timedelta(minutes=1))
    oldest = await log_in(client, name)
    await set_last_used(oldest, timedelta(hours=1))
    newest = await log_in(client, name)
    assert await last_used(expired) is None, "dropped by the next sign-in"

    latest = await log_in(client, name)  # a fourth live session: the least recent goes
    assert await last_used(oldest) is None
    for token in (user["token"], newest, latest):
        assert await last_used(token) is not None


@pytest.mark.parametrize("agent", [None, "x" * 10_000])
async def test_any_user_agent_signs_in(client, unique, agent):
    body = await post(
        client,
        SIGN_UP,
        {"username": f"ua_{unique}", "password": PASSWORD},
        user_agent=agent,
    )
    assert "errors" not in body, body
    sessions = (await gql(client, SESSIONS, token=body["data"]["signUp"]["token"]))["data"]
    device = sessions["viewer"]["sessions"][0]["device"]
    assert device == ("x" * 200 if agent else f"python-httpx/{httpx.__version__}")
