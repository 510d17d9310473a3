"""Limits at the door: document size, query cost, one expensive mutation per
request, rate limits (backend/graph/limits.py, backend/ratelimit.py)."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest

from backend import runtime
from backend.shards import db
from backend.shards.stats import count_statements
from tests.graphql import LOG_IN, SIGN_UP, UPLOAD, error_codes, gql, sign_up, upload
from tests.imagegen import phone_jpeg

BOMB_PART = """a{n}: user(username: $u) {{ followers(first: 100) {{ edges {{ node {{
  following(first: 100) {{ edges {{ node {{
    followers(first: 100) {{ edges {{ node {{ id username }} }} }} }} }} }} }} }} }} }}"""
FEED = "{ feed(first: 20) { edges { node { id owner { id } } } } }"


def cost_bomb(aliases: int = 20) -> str:
    return "query($u: String!) { " + "\n".join(BOMB_PART.format(n=n) for n in range(aliases)) + " }"


@pytest.fixture
def limits(settings: Any) -> Any:
    """Set some rate limits low for this test (the test stack raises them all);
    127.0.0.1 is a trusted proxy, so each test can be its own client IP."""
    settings.TRUSTED_PROXIES = ["127.0.0.1"]

    def set_limits(**specs: str) -> None:
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **specs}

    return set_limits


def from_ip() -> dict[str, str]:
    """A fresh client address behind the trusted proxy (the rightmost untrusted
    address is the client's; whatever the client put left of it is ignored)."""
    client = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    return {"X-Forwarded-For": f"192.0.2.66, {client}"}


async def post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, "variables": variables or {}},
                             headers=headers)  # fmt: skip


async def test_the_cost_bomb_is_refused_before_anything_runs(
    client: httpx.AsyncClient, unique: str
) -> None:
    user = await sign_up(client, f"cb_{unique}")
    with count_statements() as statements:
        body = await gql(client, cost_bomb(), {"u": f"cb_{unique}"}, token=user["token"])
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["data"] is None
    cost = body["errors"][0]["extensions"]["cost"]
    assert cost["requested"] > cost["maximum"] == 2000
    assert body["extensions"]["cost"] == cost
    # Only the token lookup ran: no resolver touched a shard.
    assert set(statements) <= {db.DIRECTORY}, statements


async def test_every_response_carries_its_cost(client: httpx.AsyncClient, unique: str) -> None:
    user = await sign_up(client, f"cc_{unique}")
    typename = await gql(client, "{ __typename }")
    assert typename["extensions"]["cost"] == {"requested": 0, "maximum": 2000}
    feed = await gql(client, FEED, token=user["token"])
    # feed 1 + 20 x (edges 1 + node 1 + owner 1)
    assert feed["extensions"]["cost"]["requested"] == 61
    # A variable `first` and its default are both priced.
    query = "query($n: Int = 5) { feed(first: $n) { edges { node { id } } } }"
    assert (await gql(client, query, token=user["token"]))["extensions"]["cost"]["requested"] == 11
    priced = await gql(client, query, {"n": 50}, token=user["token"])
    assert priced["extensions"]["cost"]["requested"] == 101
    # An error result carries it too.
    refused = await gql(client, "{ feed(first: 1000) { edges { node { id } } } }")
    assert "cost" in refused["extensions"]


async def test_size_limits(client: httpx.AsyncClient) -> None:
    repeated = "{ " + " ".join("viewer { id }" for _ in range(500)) + " }"
    body = await gql(client, repeated)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "tokens" in body["errors"][0]["message"]
    fields = "{ " + " ".join("viewer { id username bio }" for _ in range(100)) + " }"
    body = await gql(client, fields)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "fields" in body["errors"][0]["message"]
    aliases = "{ " + " ".join(f"v{n}: viewer {{ id }}" for n in range(31)) + " }"
    body = await gql(client, aliases)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "aliases" in body["errors"][0]["message"]
    # Fragments count as what they expand to.
    fragment = "fragment F on User { id username bio fullName isPrivate }"
    spreads = "{ " + " ".join(f"u{n}: viewer {{ ...F }}" for n in range(25)) + " } " + fragment
    assert error_codes(await gql(client, "{ viewer { ...F } } " + fragment)) == []
    body = await gql(client, spreads.replace("viewer { ...F }", "viewer { ...F ...F ...F }"))
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]


async def test_one_expensive_mutation_of_each_kind_per_request(
    client: httpx.AsyncClient, unique: str
) -> None:
    password = "correct horse battery"
    await sign_up(client, f"al_{unique}", password)
    aliased_login = (
        "mutation { "
        + " ".join(
            f'l{n}: logIn(username: "al_{unique}", password: "{password}") {{ token }}'
            for n in range(3)
        )
        + " }"
    )
    body = await gql(client, aliased_login)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"] and body["data"] is None
    names = [f"as{n}_{unique}" for n in range(3)]
    aliased_signup = (
        "mutation { "
        + " ".join(
            f's{n}: signUp(username: "{name}", password: "{password}") {{ token }}'
            for n, name in enumerate(names)
        )
        + " }"
    )
    body = await gql(client, aliased_signup)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    # Nothing was made: none of the names can log in.
    for name in names:
        body = await gql(client, LOG_IN, {"username": name, "password": password})
        assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_a_login_storm_is_slowed_per_username(
    client: httpx.AsyncClient, unique: str, limits: Any
) -> None:
    limits(login_username="3/30", login_ip="1000/60")
    password = "correct horse battery"
    await sign_up(client, f"ls_{unique}", password)
    wrong = {"username": f"ls_{unique}", "password": "wrong password!"}
    for _ in range(3):
        body = await gql(client, LOG_IN, wrong)
        assert error_codes(body) == ["UNAUTHENTICATED"]
    response = await post(client, LOG_IN, wrong)
    assert response.status_code == 429
    body = response.json()
    assert error_codes(body) == ["RATE_LIMITED"]
    retry_after = body["errors"][0]["extensions"]["retryAfter"]
    # One more guess in ~10 s (3 per 30 s): slow for a guesser, short for the owner.
    assert 1 <= retry_after <= 10
    assert response.headers["Retry-After"] == str(retry_after)
    # The right password waits too (no guess gets through), but another
    # account is not affected.
    right = await post(client, LOG_IN, {"username": f"ls_{unique}", "password": password})
    assert error_codes(right.json()) == ["RATE_LIMITED"]
    await sign_up(client, f"lo_{unique}", password)
    other = await gql(client, LOG_IN, {"username": f"lo_{unique}", "password": password})
    assert error_codes(other) == []


async def test_login_and_signup_are_limited_per_client_ip(
    client: httpx.AsyncClient, unique: str, limits: Any
) -> None:
    limits(login_ip="2/60", signup_ip="2/60")
    ip = from_ip()
    password = "correct horse battery"
    for n in range(2):
        r = await post(client, SIGN_UP, {"username": f"ip{n}_{unique}", "password": password}, **ip)
        assert error_codes(r.json()) == [], r.json()
    r = await post(client, SIGN_UP, {"username": f"ip2_{unique}", "password": password}, **ip)
    assert r.status_code == 429 and error_codes(r.json()) == ["RATE_LIMITED"]
    other_ip = from_ip()
    r = await post(client, SIGN_UP, {"username": f"ip3_{unique}", "password": password},
                   **other_ip)  # fmt: skip
    assert error_codes(r.json()) == []
    for n in range(2):
        r = await post(client, LOG_IN, {"username": f"ip{n}_{unique}", "password": password}, **ip)
        assert error_codes(r.json()) == []
    r = await post(client, LOG_IN, {"username": f"ip0_{unique}", "password": password}, **ip)
    assert error_codes(r.json()) == ["RATE_LIMITED"]


async def test_a_client_cannot_choose_its_ip_without_a_trusted_proxy(
    client: httpx.AsyncClient, unique: str, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = []
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signup_ip": "1/60"}
    # Without a trusted proxy the header is ignored: both sign-ups come from
    # the test client's own address (127.0.0.1), whose bucket starts empty.
    from backend.ratelimit import PREFIX

    await runtime.redis().delete(f"{PREFIX}signup_ip:ip:127.0.0.1")
    password = "correct horse battery"
    r1 = await post(client, SIGN_UP, {"username": f"tp1_{unique}", "password": password},
                    **{"X-Forwarded-For": "192.0.2.1"})  # fmt: skip
    r2 = await post(client, SIGN_UP, {"username": f"tp2_{unique}", "password": password},
                    **{"X-Forwarded-For": "192.0.2.2"})  # fmt: skip
    await runtime.redis().delete(f"{PREFIX}signup_ip:ip:127.0.0.1")
    assert error_codes(r1.json()) == []
    assert error_codes(r2.json()) == ["RATE_LIMITED"]


async def test_writes_cost_and_uploads_are_limited_per_account(
    client: httpx.AsyncClient, unique: str, limits: Any
) -> None:
    limits(writes="3/60", cost="200/60", uploads="1/60")
    user = await sign_up(client, f"wl_{unique}")
    token = user["token"]
    update = 'mutation { updateProfile(bio: "x") { id } }'
    for _ in range(3):
        assert error_codes(await gql(client, update, token=token)) == []
    r = await client.post("/graphql", json={"query": update},
                          headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 429 and error_codes(r.json()) == ["RATE_LIMITED"]

    reader = await sign_up(client, f"wr_{unique}")
    # cost 200 a minute: three feeds of 61 fit, the fourth does not.
    for _ in range(3):
        assert error_codes(await gql(client, FEED, token=reader["token"])) == []
    refused = (await post(client, FEED, Authorization=f"Bearer {reader['token']}")).json()
    assert error_codes(refused) == ["RATE_LIMITED"]
    assert refused["errors"][0]["extensions"]["retryAfter"] >= 1

    uploader = await sign_up(client, f"wu_{unique}")
    first = await upload(client, uploader["token"], phone_jpeg(64, 48, gps=False))
    assert error_codes(first) == []
    operations = {"query": UPLOAD, "variables": {"file": None}}
    second = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("p.jpg", phone_jpeg(64, 48, gps=False), "image/jpeg")},
        headers={"Authorization": f"Bearer {uploader['token']}"},
    )
    assert second.status_code == 429
    assert error_codes(second.json()) == ["RATE_LIMITED"]
