"""Bad input gets a client error (BAD_USER_INPUT, HTTP 400 for a malformed
envelope), never INTERNAL_SERVER_ERROR or a 500, and nothing is logged as an
error: one regression test per case found (issue 13, item 4)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.datastructures import UploadFile

import tests.imagegen as imagegen
from backend.graph.envelope import operations_with_files
from backend.graph.pagination import encode_cursor
from backend.shards import topology
from backend.shards.ids import MAX_ID, MAX_LOGICAL_SHARDS, encode_id, shard_of
from tests.badinput import check_client_error, error_records
from tests.graphql import UPLOAD, error_codes, gql, sign_up, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nothing_logged_as_error(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Client errors are not ours to log: the in-process app logs no ERROR record."""
    yield
    assert error_records(caplog) == [], [r.getMessage() for r in error_records(caplog)]


@pytest.fixture(scope="module")
async def account() -> AsyncIterator[dict[str, Any]]:
    """One account with one photo for the module (signing up hashes a password)."""
    from backend.asgi import application

    transport = httpx.ASGITransport(app=application)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        user = await sign_up(client, f"bad_{uuid.uuid4().hex[:10]}")
        photo = await upload(client, user["token"], imagegen.png_bytes(32, 32))
    yield {"token": user["token"], "id": user["user"]["id"], "photo": photo["data"]["uploadPhoto"]}


async def post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


# ---------------------------------------------------------------- IDs

ID_ARGUMENTS = {
    "photo": "query($id: ID!) { photo(id: $id) { id } }",
    "user": "query($id: ID) { user(id: $id) { id } }",
    "likePhoto": "mutation($id: ID!) { likePhoto(id: $id) { id } }",
    "unlikePhoto": "mutation($id: ID!) { unlikePhoto(id: $id) { id } }",
    "deleteComment": "mutation($id: ID!) { deleteComment(id: $id) }",
    "deletePhoto": "mutation($id: ID!) { deletePhoto(id: $id) }",
    "addComment": 'mutation($id: ID!) { addComment(photoId: $id, text: "hi") { id } }',
    "follow": "mutation($id: ID!) { follow(userId: $id) { id } }",
    "unfollow": "mutation($id: ID!) { unfollow(userId: $id) { id } }",
    "approveFollowRequest": "mutation($id: ID!) { approveFollowRequest(userId: $id) { id } }",
    "rejectFollowRequest": "mutation($id: ID!) { rejectFollowRequest(userId: $id) { id } }",
    "setPostNotifications": (
        "mutation($id: ID!) { setPostNotifications(userId: $id, enabled: true) }"
    ),
}


async def unmapped_shard_ids() -> list[str]:
    """IDs of a real shape whose shard bits are past the map (LOGICAL_SHARDS)."""
    count = (await topology.aget_map()).logical_count
    assert count < MAX_LOGICAL_SHARDS, "the test stack maps fewer logical shards than IDs name"
    return [
        str(encode_id(ms=1_000_000, shard=shard, sequence=1))
        for shard in (count, MAX_LOGICAL_SHARDS - 1)
    ]


@pytest.mark.parametrize("field", sorted(ID_ARGUMENTS))
async def test_id_on_an_unmapped_shard_is_bad_input(
    client: httpx.AsyncClient, account: dict[str, Any], field: str
) -> None:
    for value in await unmapped_shard_ids():
        response = await post(client, ID_ARGUMENTS[field], {"id": value}, account["token"])
        errors = check_client_error(response, status=200)
        assert [e["message"] for e in errors] in (
            ["id is not a valid ID"],
            ["userId is not a valid ID"],
            ["photoId is not a valid ID"],
        )


@pytest.mark.parametrize(
    "value", ["", "abc", "-1", "0", "+5", "1_000", "١٢", " ", "1" * 5000, str(MAX_ID + 1)]
)
async def test_malformed_ids_are_bad_input(client: httpx.AsyncClient, value: str) -> None:
    response = await post(client, ID_ARGUMENTS["photo"], {"id": value})
    check_client_error(response, status=200)


async def test_a_mapped_shard_id_of_no_photo_is_still_null(client: httpx.AsyncClient) -> None:
    missing = str(encode_id(ms=1_000_000, shard=0, sequence=1))
    body = (await post(client, ID_ARGUMENTS["photo"], {"id": missing})).json()
    assert "errors" not in body, body
    assert body["data"] == {"photo": None}


async def test_an_id_with_spaces_around_it_still_works(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    photo_id = account["photo"]["id"]
    assert shard_of(int(photo_id)) == shard_of(int(account["id"]))
    body = (await post(client, ID_ARGUMENTS["photo"], {"id": f" {photo_id} "})).json()
    assert "errors" not in body, body
    assert body["data"] == {"photo": {"id": photo_id}}


# ---------------------------------------------------------------- variables


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($id: ID!) { photo(id: $id) { id } }", {"id": {"a": 1}}),
        ("query($id: ID!) { photo(id: $id) { id } }", {"id": None}),
        ("query($id: ID!) { photo(id: $id) { id } }", {}),
        ("query($id: ID!) { photo(id: $id) { id } }", {"id": 1.5}),
        ("query($id: ID!) { photo(id: $id) { id } }", {"id": True}),
        ("query($id: ID!) { photo(id: $id) { id } }", {"id": [[[[1]]]]}),
        ("query($f: Int) { feed(first: $f) { edges { cursor } } }", {"f": "x"}),
        ("query($f: Int) { feed(first: $f) { edges { cursor } } }", {"f": 2**40}),
        ("query($f: Int) { feed(first: $f) { edges { cursor } } }", {"f": 1e300}),
        ("query($s: PhotoSize!) { photo(id: 1) { url(size: $s) } }", {"s": "HUGE"}),
        ("mutation($b: Boolean) { updateProfile(isPrivate: $b) { id } }", {"b": "yes"}),
        ("mutation($t: String!) { registerDevice(token: $t) }", {"t": 5}),
        ("mutation($f: Upload!) { uploadPhoto(file: $f) { id } }", {"f": None}),
    ],
)
async def test_wrong_type_or_null_variables_are_bad_input(
    client: httpx.AsyncClient, account: dict[str, Any], query: str, variables: dict[str, Any]
) -> None:
    errors = check_client_error(await post(client, query, variables, account["token"]))
    assert all(e["message"].startswith("Variable '$") for e in errors), errors


# ---------------------------------------------------------------- cursors


def raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BAD_CURSORS = [
    encode_cursor(2**64),
    encode_cursor(MAX_ID + 1),
    raw_cursor("c:-5"),
    raw_cursor("c: 5"),
    raw_cursor("c:"),
    raw_cursor("x:5"),
    raw_cursor("c:" + "9" * 5000),
    "!!!",
    "é",
    "A" * 1000,
]
USER_LIST = "query($id: ID!, $a: String) { user(id: $id) { %s(after: $a) { edges { cursor } } } }"
CURSOR_FIELDS = {
    "feed": "query($a: String) { feed(after: $a) { edges { cursor } } }",
    "activity": "query($a: String) { activity(after: $a) { edges { cursor } } }",
    "followRequests": "query($a: String) { followRequests(after: $a) { edges { cursor } } }",
    "photos": USER_LIST % "photos",
    "followers": USER_LIST % "followers",
    "following": USER_LIST % "following",
    "comments": (
        "query($p: ID!, $a: String) { photo(id: $p) { comments(after: $a) { edges { cursor } } } }"
    ),
}


@pytest.mark.parametrize("field", sorted(CURSOR_FIELDS))
async def test_malformed_cursors_are_bad_input(
    client: httpx.AsyncClient, account: dict[str, Any], field: str
) -> None:
    for cursor in BAD_CURSORS:
        variables = {"a": cursor, "id": account["id"], "p": account["photo"]["id"]}
        response = await post(client, CURSOR_FIELDS[field], variables, account["token"])
        errors = check_client_error(response, status=200)
        assert [e["message"] for e in errors] == ["after is not a valid cursor"], (cursor, errors)


async def test_the_largest_cursor_is_a_first_page(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    variables = {"a": encode_cursor(MAX_ID), "id": account["id"]}
    body = (await post(client, CURSOR_FIELDS["photos"], variables, account["token"])).json()
    assert "errors" not in body, body
    assert len(body["data"]["user"]["photos"]["edges"]) == 1


# ---------------------------------------------------------------- text PostgreSQL refuses

BY_USERNAME = "query($u: String) { user(username: $u) { id } }"


async def test_username_with_nul_is_bad_input(client: httpx.AsyncClient) -> None:
    response = await post(client, BY_USERNAME, {"u": "a\x00b"})
    errors = check_client_error(response, status=200)
    assert errors[0]["message"] == "username must not contain NUL characters"


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('mutation($u: String!) { logIn(username: $u, password: "x") { token } }', {"u": "a\x00"}),
        (
            'mutation($u: String!) { signUp(username: $u, password: "long enough") { token } }',
            {"u": "a\x00"},
        ),
        ('mutation($t: String!) { addComment(photoId: "1", text: $t) { id } }', {"t": "a\x00"}),
        ("mutation($b: String) { updateProfile(bio: $b) { id } }", {"b": "a\x00"}),
        ("mutation($t: String!) { registerDevice(token: $t) }", {"t": "ab\x00"}),
    ],
)
async def test_other_text_with_nul_is_refused_by_its_check(
    client: httpx.AsyncClient, account: dict[str, Any], query: str, variables: dict[str, Any]
) -> None:
    response = await post(client, query, variables, account["token"])
    errors = check_client_error(response, status=200, code=None)
    assert error_codes(response.json())[0] in ("BAD_USER_INPUT", "UNAUTHENTICATED"), errors


# ---------------------------------------------------------------- JSON bodies


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'"hello"', "the request body must be a JSON object"),
        (b"null", "the request body must be a JSON object"),
        (b"42", "the request body must be a JSON object"),
        (b"true", "the request body must be a JSON object"),
        (b"[]", "batched requests are not supported"),
        (b"{bad", "the request body is not valid JSON"),
        (b"", "the request body is not valid JSON"),
        (b'{"query": "{ viewer { id } }", "variables": NaN}', "the request body is not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "the request body is not valid JSON"),
        (b'{"query": "{ viewer { id } } #\xe9"}', "the request body is not UTF-8"),
        ('{"query": "{ viewer { id } }"}'.encode("utf-16"), "the request body is not UTF-8"),
        (
            b'{"query": "%s", "variables": {"u": "\\ud800"}}' % BY_USERNAME.encode(),
            "the request body has a string with an unpaired UTF-16 surrogate",
        ),
        (b'{"query": 5}', "`query` must be a string or null"),
        (b'{"query": "{ viewer { id } }", "variables": "x"}', "`variables` must be an object"),
        (
            b'{"query": "{ viewer { id } }", "operationName": [1]}',
            "`operationName` must be a string",
        ),
        (b'{"query": "{ viewer { id } }", "extensions": 5}', "`extensions` must be an object"),
        (b"{}", "No GraphQL query found"),
    ],
)
async def test_malformed_json_bodies_are_400_json(
    client: httpx.AsyncClient, body: bytes, message: str
) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    errors = check_client_error(response, status=400)
    assert message in errors[0]["message"], errors
    assert response.json()["data"] is None


async def test_a_surrogate_pair_is_fine(client: httpx.AsyncClient) -> None:
    body = b'{"query": "%s", "variables": {"u": "\\ud83d\\ude00"}}' % BY_USERNAME.encode()
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert "errors" not in response.json()
    assert response.json()["data"] == {"user": None}


@pytest.mark.parametrize(
    ("method", "kwargs", "status"),
    [
        ("PUT", {"content": b"{}"}, 405),
        ("POST", {"content": b"{}", "headers": {"Content-Type": "text/plain"}}, 400),
        ("GET", {"params": {"query": "mutation { logOut }"}}, 405),
        ("GET", {"params": {"query": "{ viewer { id } }", "variables": "{x"}}, 400),
        ("GET", {"params": {"query": "{ viewer { id } }", "variables": '"\\ud800"'}}, 400),
        ("POST", {"json": {"query": "query A { viewer { id } }", "operationName": "B"}}, 400),
    ],
)
async def test_other_envelope_errors_are_json(
    client: httpx.AsyncClient, method: str, kwargs: dict[str, Any], status: int
) -> None:
    response = await client.request(method, "/graphql", **kwargs)
    check_client_error(response, status=status)
    if status == 405:  # a mutation over GET may be sent again with POST only
        assert response.headers["allow"] == ("POST" if method == "GET" else "GET, POST")


# ---------------------------------------------------------------- multipart envelopes

UPLOAD_OPERATIONS = json.dumps({"query": UPLOAD, "variables": {"file": None, "caption": None}})
FILE_MAP = json.dumps({"0": ["variables.file"]})


@pytest.mark.parametrize(
    ("form", "file_parts", "message"),
    [
        (
            {"operations": UPLOAD_OPERATIONS, "map": "[]"},
            ["0"],
            "`map` field must be a JSON object",
        ),
        (
            {"operations": UPLOAD_OPERATIONS, "map": "null"},
            ["0"],
            "`map` field must be a JSON object",
        ),
        ({"operations": UPLOAD_OPERATIONS}, ["0"], "needs a `map` field"),
        ({"operations": UPLOAD_OPERATIONS, "map": "{nope"}, ["0"], "`map` field is not valid JSON"),
        (
            {"operations": UPLOAD_OPERATIONS, "map": json.dumps({"0": ["variables.f.deep.path"]})},
            ["0"],
            "names nothing in operations",
        ),
        (
            {"operations": UPLOAD_OPERATIONS, "map": json.dumps({"0": ["variables.nothere"]})},
            ["0"],
            "names nothing in operations",
        ),
        (
            {"operations": UPLOAD_OPERATIONS, "map": json.dumps({"0": ["variables.file.0"]})},
            ["0"],
            "names nothing in operations",
        ),
        (
            {"operations": UPLOAD_OPERATIONS, "map": json.dumps({"0": ["query"]})},
            ["0"],
            "must point into variables",
        ),
        (
            {"operations": UPLOAD_OPERATIONS, "map": json.dumps({"0": [""]})},
            ["0"],
            "must point into variables",
        ),
        (
            {"operations": UPLOAD_OPERATIONS, "map": json.dumps({"0": "variables.file"})},
            ["0"],
            "must be a list of paths",
        ),
        (
            {"operations": UPLOAD_OPERATIONS, "map": json.dumps({"0": [5]})},
            ["0"],
            "must be a list of paths",
        ),
        ({"operations": UPLOAD_OPERATIONS, "map": FILE_MAP}, [], "file part '0' that the request"),
        ({"map": FILE_MAP}, ["0"], "needs an `operations` field"),
        ({"operations": "{no", "map": FILE_MAP}, ["0"], "`operations` field is not valid JSON"),
        ({"operations": "[]", "map": FILE_MAP}, ["0"], "`operations` field must be a JSON object"),
        (
            {"operations": "null", "map": FILE_MAP},
            ["0"],
            "`operations` field must be a JSON object",
        ),
        (
            {"operations": json.dumps({"query": 5, "variables": {"file": None}}), "map": FILE_MAP},
            ["0"],
            "`query` must be a string",
        ),
        (
            {
                "operations": json.dumps({"query": UPLOAD, "variables": {"file": "\ud800"}}),
                "map": "{}",
            },
            [],
            "unpaired UTF-16 surrogate",
        ),
    ],
)
async def test_malformed_multipart_envelopes_are_400_json(
    client: httpx.AsyncClient,
    account: dict[str, Any],
    form: dict[str, str],
    file_parts: list[str],
    message: str,
) -> None:
    files = {name: ("a.png", imagegen.png_bytes(8, 8), "image/png") for name in file_parts}
    response = await client.post(
        "/graphql",
        data=form,
        files=files or {"unrelated": ("x.txt", b"x", "text/plain")},
        headers={"Authorization": f"Bearer {account['token']}"},
    )
    errors = check_client_error(response, status=400)
    assert message in errors[0]["message"], errors


@pytest.mark.parametrize(
    "body",
    [b"--x\r\nnope", b"", b"--x--\r\n", b"\xff" * 100],
)
async def test_unparseable_multipart_bodies_are_400_json(
    client: httpx.AsyncClient, body: bytes
) -> None:
    for content_type in ("multipart/form-data; boundary=x", "multipart/form-data"):
        response = await client.post(
            "/graphql", content=body, headers={"Content-Type": content_type}
        )
        check_client_error(response, status=400)


async def test_a_multipart_request_without_files_still_works(client: httpx.AsyncClient) -> None:
    operations = json.dumps({"query": "{ viewer { id } }"})
    response = await client.post(
        "/graphql",
        data={"operations": operations, "map": "{}"},
        files={"unused": ("x.txt", b"x", "text/plain")},
    )
    assert response.status_code == 200
    assert "errors" not in response.json()
    assert response.json()["data"] == {"viewer": None}


def test_a_map_path_may_index_a_list() -> None:
    """Paths into lists (several files in one variable) follow the spec's object paths."""
    file = UploadFile(file=None, filename="a.png")  # type: ignore[arg-type]
    form = {
        "operations": json.dumps({"query": "q", "variables": {"files": [None, None], "x": None}}),
        "map": json.dumps({"0": ["variables.files.1", "variables.x"]}),
        "0": file,
    }
    assert operations_with_files(form) == {
        "query": "q",
        "variables": {"files": [None, file], "x": file},
    }


# ---------------------------------------------------------------- through gunicorn


async def test_bad_input_through_gunicorn(live: httpx.AsyncClient, unique: str) -> None:
    user = await sign_up(live, f"badlive_{unique}")
    for value in await unmapped_shard_ids():
        check_client_error(
            await post(live, ID_ARGUMENTS["likePhoto"], {"id": value}, user["token"])
        )
    check_client_error(
        await post(live, CURSOR_FIELDS["feed"], {"a": encode_cursor(2**64)}, user["token"])
    )
    check_client_error(await post(live, ID_ARGUMENTS["photo"], {"id": None}))
    for body in (b'"hello"', b"null", b"[]", b"7", b"\xff\xfe{", b"{bad"):
        response = await live.post(
            "/graphql", content=body, headers={"Content-Type": "application/json"}
        )
        check_client_error(response, status=400)
    response = await live.post(
        "/graphql",
        data={"operations": UPLOAD_OPERATIONS, "map": "[]"},
        files={"0": ("a.png", imagegen.png_bytes(8, 8), "image/png")},
        headers={"Authorization": f"Bearer {user['token']}"},
    )
    check_client_error(response, status=400)
    assert (await live.get("/readyz")).status_code == 200
    assert error_codes(await gql(live, "{ viewer { id } }", token=user["token"])) == []
