"""searchUsers: prefix matches on username and full name, ranked, paged; the
directory's search terms follow profile edits through the outbox."""

from __future__ import annotations

from typing import Any

import httpx

from backend.accounts.search import name_terms, prefix_range, search_form
from tests.graphql import error_codes, gql, sign_up
from tests.queues import drain

SEARCH = """query($q: String!, $f: Int, $a: String) { searchUsers(query: $q, first: $f, after: $a) {
    edges { cursor node { id username fullName } }
    pageInfo { hasNextPage endCursor } } }"""
NAME = "mutation($n: String) { updateProfile(fullName: $n) { id } }"


async def _search(client: httpx.AsyncClient, query: str, **variables: Any) -> list[str]:
    body = await gql(client, SEARCH, {"q": query, **variables})
    assert "errors" not in body, body
    return [e["node"]["username"] for e in body["data"]["searchUsers"]["edges"]]


def test_search_form_and_name_terms() -> None:
    assert search_form("  José   MARÍA ") == "jose maria"
    assert search_form("Straße") == "strasse"
    assert name_terms("J. R. R. Tolkien") == [
        (1, "j. r. r. tolkien"),
        (2, "r. r. tolkien"),
        (2, "r. tolkien"),
        (2, "tolkien"),
    ]
    assert name_terms("Anne-Marie Dupont")[1:] == [(2, "marie dupont"), (2, "dupont")]
    assert name_terms("   ") == []
    assert prefix_range("ab") == ("ab", "ac")
    assert prefix_range("a\ud7ff") == ("a\ud7ff", "a\ue000")


async def test_search_finds_by_username_and_name_prefix_best_first(
    client: httpx.AsyncClient, unique: str
) -> None:
    tag = unique[:6]
    exact = await sign_up(client, f"zq{tag}")
    longer = await sign_up(client, f"zq{tag}_longer")
    named = await sign_up(client, f"other_{tag}")
    await gql(client, NAME, {"n": f"Zq{tag.upper()} Ünïcode Smith{tag}"}, token=named["token"])
    await drain()

    found = await _search(client, f"ZQ{tag}")
    # The exact username, then the longer username, then the name match.
    assert found == [f"zq{tag}", f"zq{tag}_longer", f"other_{tag}"]
    assert await _search(client, f"smith{tag}") == [f"other_{tag}"]  # a later word
    assert await _search(client, f"zq{tag} unic") == [f"other_{tag}"]  # accents ignored
    assert await _search(client, f"zq{tag}_l") == [f"zq{tag}_longer"]  # "_" is no wildcard
    assert await _search(client, f"{tag}") == []  # prefixes only, not infixes
    assert exact and longer

    # Pages of one query never overlap or skip.
    first = await gql(client, SEARCH, {"q": f"zq{tag}", "f": 2})
    page = first["data"]["searchUsers"]
    assert [e["node"]["username"] for e in page["edges"]] == found[:2]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await _search(client, f"zq{tag}", a=page["pageInfo"]["endCursor"])
    assert rest == found[2:]


async def test_a_new_name_replaces_the_old_one_in_search(
    client: httpx.AsyncClient, unique: str
) -> None:
    user = await sign_up(client, f"rn_{unique}")
    await gql(client, NAME, {"n": f"Before{unique}"}, token=user["token"])
    await drain()
    assert await _search(client, f"before{unique}") == [f"rn_{unique}"]
    await gql(client, NAME, {"n": f"After{unique}"}, token=user["token"])
    await drain()
    assert await _search(client, f"before{unique}") == []
    assert await _search(client, f"after{unique}") == [f"rn_{unique}"]
    await gql(client, NAME, {"n": ""}, token=user["token"])
    await drain()
    assert await _search(client, f"after{unique}") == []
    assert await _search(client, f"rn_{unique}") == [f"rn_{unique}"]  # the username stays


async def test_search_input_is_checked(client: httpx.AsyncClient) -> None:
    assert await _search(client, "   ") == []
    for query in ("x" * 65, "a\x00b"):
        body = await gql(client, SEARCH, {"q": query})
        assert error_codes(body) == ["BAD_USER_INPUT"], body
    bad_cursor = await gql(client, SEARCH, {"q": "a", "a": "nope"})
    assert error_codes(bad_cursor) == ["BAD_USER_INPUT"]
