"""Fuzzing /graphql with malformed requests: no 500, no INTERNAL_SERVER_ERROR.

Hypothesis generates the requests (derandomized: the same cases on every run)
from the schema's operations with wrong, missing and hostile variables (IDs
on unmapped shards, cursors past 2^64, NUL, unpaired surrogates), mangled
documents, raw bodies and multipart envelopes. They are made up front and
then sent on the session's one event loop, to the in-process app and a
sample of them to gunicorn. Every answer must be GraphQL-shaped JSON below
500 whose errors all carry an `extensions.code` other than
INTERNAL_SERVER_ERROR; nothing may be logged as an error; /readyz must still
be 200 afterwards.
"""

from __future__ import annotations

import base64
import collections
import functools
import json
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import tests.imagegen as imagegen
from backend.shards.ids import MAX_LOGICAL_SHARDS, MAX_TIME_MS, SEQUENCE_MASK, encode_id
from tests.badinput import check_client_error, error_records
from tests.graphql import sign_up, upload

IN_PROCESS_CASES = 700  # 100 of each kind
LIVE_EVERY = 4  # every 4th case goes to gunicorn too

# Placeholders filled in when a case is sent (the IDs exist only at run time).
USER, PHOTO, TOKEN, BAD_TOKEN = "@@user@@", "@@photo@@", "@@token@@", "@@bad-token@@"


@dataclass
class Case:
    """One HTTP request to /graphql."""

    kind: str
    method: str = "POST"
    auth: str | None = None
    content_type: str | None = "application/json"
    body: bytes | None = None
    params: dict[str, str] | None = None
    form: dict[str, str] | None = None
    files: list[str] = field(default_factory=list)

    def request(self, ids: dict[str, str]) -> dict[str, Any]:
        def fill(data: bytes | str) -> bytes:
            # Form fields and query parameters are bytes on the wire: an
            # unpaired surrogate goes as its (invalid) UTF-8 encoding.
            if isinstance(data, str):
                data = data.encode("utf-8", "surrogatepass")
            for placeholder, value in ids.items():
                data = data.replace(placeholder.encode(), value.encode())
            return data

        headers = {"Accept": "application/json"}
        if self.auth is not None:
            headers["Authorization"] = f"Bearer {ids[self.auth]}"
        kwargs: dict[str, Any] = {"method": self.method, "url": "/graphql", "headers": headers}
        if self.form is not None or self.files:
            kwargs["data"] = {k: fill(v) for k, v in (self.form or {}).items()}
            kwargs["files"] = {
                name: ("a.png", imagegen.png_bytes(8, 8), "image/png") for name in self.files
            } or {"unrelated": ("x.txt", b"x", "text/plain")}
            return kwargs
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        if self.body is not None:
            kwargs["content"] = fill(self.body)
        if self.params is not None:
            query = urllib.parse.urlencode({k: fill(v) for k, v in self.params.items()})
            kwargs["url"] = f"/graphql?{query}"
        return kwargs


# ---------------------------------------------------------------- values


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each `weight` times as likely as a weight of 1."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


any_char = st.characters(exclude_categories=())  # surrogates and controls too
hostile_text = st.one_of(
    st.text(any_char, max_size=20),
    st.sampled_from(["", "\x00", "a\x00b", "\ud800", "x\udfff", "é", "1" * 5000, "%s", "'"]),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def shaped_ids(draw: st.DrawFn) -> str:
    """IDs of a real shape, mostly on shards past the map (LOGICAL_SHARDS)."""
    mapped = django_settings.LOGICAL_SHARDS
    ms = draw(st.integers(1, MAX_TIME_MS))
    shard = draw(
        weighted((1, st.integers(0, mapped - 1)), (3, st.integers(mapped, MAX_LOGICAL_SHARDS - 1)))
    )
    return str(encode_id(ms=ms, shard=shard, sequence=draw(st.integers(0, SEQUENCE_MASK))))


id_values = weighted(
    (4, shaped_ids()),
    (2, st.sampled_from([USER, PHOTO])),
    (1, st.integers(min_value=-(2**70), max_value=2**70).map(str)),
    (1, hostile_text),
)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


cursors = weighted(
    (4, st.integers(min_value=-(2**80), max_value=2**80).map(lambda v: b64(f"c:{v}"))),
    (1, hostile_text.map(lambda t: b64(f"c:{t}"))),
    (1, hostile_text.map(b64)),
    (1, hostile_text),
    (1, st.none()),
)
firsts = weighted((4, st.integers(0, 100)), (1, st.integers(min_value=-(2**40), max_value=2**40)))

# (document, variable strategies): every operation of the schema.
CONNECTION = "edges { cursor node { id } } pageInfo { hasNextPage endCursor }"
OPERATIONS: list[tuple[str, dict[str, st.SearchStrategy[Any]]]] = [
    (
        "query($id: ID!, $first: Int, $after: String) { photo(id: $id) { id caption likeCount "
        "viewerHasLiked owner { id username } comments(first: $first, after: $after) "
        "{ edges { cursor node { id text author { id } } } } } }",
        {"id": id_values, "first": firsts, "after": cursors},
    ),
    (
        "query($id: ID, $first: Int, $after: String) { user(id: $id) { id username "
        f"photos(first: $first, after: $after) {{ {CONNECTION} }} "
        f"followers(first: $first, after: $after) {{ {CONNECTION} }} "
        f"following(first: $first, after: $after) {{ {CONNECTION} }} }} }}",
        {"id": id_values, "first": firsts, "after": cursors},
    ),
    (
        "query($username: String) { user(username: $username) { id viewerFollows } }",
        {"username": hostile_text},
    ),
    (
        "query($first: Int, $after: String) "
        f"{{ feed(first: $first, after: $after) {{ {CONNECTION} }} }}",
        {"first": firsts, "after": cursors},
    ),
    (
        "query($first: Int, $after: String) { activity(first: $first, after: $after) "
        "{ edges { cursor node { id kind actor { id } photo { id } } } } }",
        {"first": firsts, "after": cursors},
    ),
    (
        f"query($first: Int, $after: String) {{ followRequests(first: $first, after: $after) "
        f"{{ {CONNECTION} }} }}",
        {"first": firsts, "after": cursors},
    ),
    ("mutation($id: ID!) { likePhoto(id: $id) { id likeCount } }", {"id": id_values}),
    ("mutation($id: ID!) { unlikePhoto(id: $id) { id likeCount } }", {"id": id_values}),
    ("mutation($id: ID!) { deleteComment(id: $id) }", {"id": id_values}),
    ("mutation($id: ID!) { deletePhoto(id: $id) }", {"id": id_values}),
    (
        "mutation($id: ID!, $text: String!) { addComment(photoId: $id, text: $text) { id } }",
        {"id": id_values, "text": hostile_text},
    ),
    ("mutation($id: ID!) { follow(userId: $id) { id } }", {"id": id_values}),
    ("mutation($id: ID!) { unfollow(userId: $id) { id } }", {"id": id_values}),
    ("mutation($id: ID!) { approveFollowRequest(userId: $id) { id } }", {"id": id_values}),
    ("mutation($id: ID!) { rejectFollowRequest(userId: $id) { id } }", {"id": id_values}),
    (
        "mutation($id: ID!, $on: Boolean!) { setPostNotifications(userId: $id, enabled: $on) }",
        {"id": id_values, "on": st.booleans()},
    ),
    (
        "mutation($n: String, $b: String, $p: Boolean) "
        "{ updateProfile(fullName: $n, bio: $b, isPrivate: $p) { id } }",
        {"n": hostile_text | st.none(), "b": hostile_text | st.none(), "p": st.booleans()},
    ),
    ("mutation($t: String!) { registerDevice(token: $t) }", {"t": hostile_text}),
    ("mutation($t: String!) { unregisterDevice(token: $t) }", {"t": hostile_text}),
    (
        "mutation($u: String!, $p: String!, $e: String) "
        "{ signUp(username: $u, password: $p, email: $e) { token } }",
        # A username that fits and is new would cost a password hash: "\x00" never fits.
        {"u": hostile_text.map(lambda t: t + "\x00"), "p": hostile_text, "e": hostile_text},
    ),
    (
        "mutation($f: Upload!, $c: String) { uploadPhoto(file: $f, caption: $c) { id } }",
        {"f": json_values, "c": hostile_text},
    ),
    ("query($s: PhotoSize!) { photo(id: 1) { url(size: $s) } }", {"s": json_values}),
]


ID_OPERATIONS = [op for op in OPERATIONS if "id" in op[1]]
CURSOR_OPERATIONS = [op for op in OPERATIONS if "after" in op[1]]


@st.composite
def variables_for(
    draw: st.DrawFn, spec: dict[str, st.SearchStrategy[Any]], *, typed_only: bool = False
) -> dict[str, Any]:
    """Each variable: typed-but-hostile, any JSON value (wrong type), or left out."""
    out: dict[str, Any] = {}
    for name, typed in spec.items():
        choice = (
            "typed" if typed_only else draw(st.sampled_from(["typed"] * 8 + ["any", "missing"]))
        )
        if choice == "typed":
            out[name] = draw(typed)
        elif choice == "any":
            out[name] = draw(json_values)
    return out


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    query, spec = draw(st.sampled_from(OPERATIONS))
    variables = draw(variables_for(spec))
    mangle = draw(st.sampled_from(["none"] * 7 + ["cut", "insert", "random"]))
    if mangle == "cut":
        start = draw(st.integers(0, len(query)))
        query = query[:start] + query[start + draw(st.integers(1, 20)) :]
    elif mangle == "insert":
        at = draw(st.integers(0, len(query)))
        query = query[:at] + draw(st.text(any_char, min_size=1, max_size=5)) + query[at:]
    elif mangle == "random":
        query = draw(st.text(any_char, max_size=60))
    return query, variables


def dumps(value: Any) -> bytes:
    # ensure_ascii writes an unpaired surrogate as the escape "\udxxx", as a client would.
    return json.dumps(value).encode()


auths = st.sampled_from([TOKEN, TOKEN, TOKEN, None, BAD_TOKEN])


@st.composite
def typed_posts(draw: st.DrawFn, kind: str, operations: list[tuple[str, dict[str, Any]]]) -> Case:
    """A well-formed operation whose variables are typed but hostile (IDs, cursors)."""
    query, spec = draw(st.sampled_from(operations))
    variables = draw(variables_for(spec, typed_only=True))
    return Case(kind, auth=TOKEN, body=dumps({"query": query, "variables": variables}))


@st.composite
def graphql_posts(draw: st.DrawFn) -> Case:
    query, variables = draw(documents())
    envelope: dict[str, Any] = {"query": query, "variables": variables}
    if draw(st.integers(0, 9)) == 0:
        envelope["operationName"] = draw(json_values)
    return Case("graphql", auth=draw(auths), body=dumps(envelope))


@st.composite
def envelopes(draw: st.DrawFn) -> Case:
    """JSON bodies whose fields have the wrong types."""
    query, variables = draw(documents())
    envelope = {
        "query": draw(st.sampled_from([query, query, None]) | json_values),
        "variables": draw(st.sampled_from([variables, None]) | json_values),
        "operationName": draw(st.none() | json_values),
        "extensions": draw(st.none() | json_values),
    }
    keys = draw(st.sets(st.sampled_from(sorted(envelope))))
    return Case("envelope", auth=draw(auths), body=dumps({k: envelope[k] for k in keys}))


raw_bodies = st.builds(
    Case,
    kind=st.just("raw"),
    body=st.one_of(
        json_values.map(dumps),
        st.binary(max_size=80),
        st.text(any_char, max_size=80).map(lambda t: t.encode("utf-16")),
        st.sampled_from([b"NaN", b"[" * 5000, b'{"query": "{ viewer { id } }"', b"\xef\xbb\xbf{}"]),
    ),
    content_type=st.sampled_from(
        ["application/json"] * 6
        + ["application/json; charset=utf-8", "text/plain", "multipart/form-data", None, "a/b; ;="]
    ),
)


@st.composite
def gets(draw: st.DrawFn) -> Case:
    query, variables = draw(documents())
    params = {"query": query, "variables": dumps(variables).decode()}
    if draw(st.integers(0, 4)) == 0:
        params["variables"] = draw(hostile_text)
    if draw(st.integers(0, 4)) == 0:
        params["extensions"] = draw(json_values.map(lambda v: dumps(v).decode()))
    return Case("get", method="GET", content_type=None, params=params)


UPLOAD_DOCUMENT = "mutation($file: Upload!) { uploadPhoto(file: $file) { id } }"
map_paths = weighted(
    (4, st.just("variables.file")),
    (1, st.text(any_char, max_size=20)),
    (
        4,
        st.sampled_from(
            [
                "variables.file",
                "variables.f.deep.path",
                "variables.nothere",
                "variables",
                "",
                "query",
                "variables.file.0",
                "0.variables.file",
                "variables.files.1",
                "variables.files.2",
                "variables.caption",
            ]
        ),
    ),
)


@st.composite
def multiparts(draw: st.DrawFn) -> Case:
    operations_value = draw(
        weighted(
            (
                6,
                st.sampled_from(
                    [
                        {"query": UPLOAD_DOCUMENT, "variables": {"file": None}},
                        {"query": UPLOAD_DOCUMENT, "variables": {"file": None, "caption": "x"}},
                        {"query": UPLOAD_DOCUMENT, "variables": {"files": [None, None]}},
                        {"query": UPLOAD_DOCUMENT, "variables": None},
                        {"query": UPLOAD_DOCUMENT},
                    ]
                ),
            ),
            (1, json_values),
        )
    )
    files_map = draw(
        weighted(
            (
                6,
                st.dictionaries(
                    st.sampled_from(["0", "1", "x"]),
                    weighted((6, st.lists(map_paths, max_size=3)), (1, json_values)),
                    max_size=3,
                ),
            ),
            (1, json_values),
        )
    )
    form = {
        "operations": draw(
            weighted((6, st.just(dumps(operations_value).decode())), (1, hostile_text))
        ),
        "map": draw(weighted((6, st.just(dumps(files_map).decode())), (1, hostile_text))),
    }
    dropped = draw(st.sampled_from([None] * 8 + ["operations", "map"]))
    files = draw(st.sampled_from([["0"]] * 4 + [["0", "1"], ["1"], []]))
    fields = {k: v for k, v in form.items() if k != dropped}
    return Case("multipart", auth=draw(auths), form=fields, files=files)


KINDS: dict[str, st.SearchStrategy[Case]] = {
    "ids": typed_posts("ids", ID_OPERATIONS),
    "cursors": typed_posts("cursors", CURSOR_OPERATIONS),
    "graphql": graphql_posts(),
    "envelope": envelopes(),
    "raw": raw_bodies,
    "get": gets(),
    "multipart": multiparts(),
}


def generate(strategy: st.SearchStrategy[Case], count: int) -> list[Case]:
    """`count` cases from Hypothesis, the same on every run (derandomized)."""
    out: list[Case] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case: Case) -> None:
        out.append(case)

    collect()
    return out


@functools.cache
def fuzz_cases() -> list[Case]:
    """IN_PROCESS_CASES cases, the same number of each kind, interleaved."""
    per_kind = [generate(strategy, IN_PROCESS_CASES // len(KINDS)) for strategy in KINDS.values()]
    return [case for group in zip(*per_kind, strict=True) for case in group]


@pytest.fixture(scope="module")
async def placeholders() -> AsyncIterator[dict[str, str]]:
    """Real IDs and tokens the placeholders stand for, so cases reach the shards."""
    from backend.asgi import application

    transport = httpx.ASGITransport(app=application)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        user = await sign_up(client, f"fuzz_{uuid.uuid4().hex[:10]}")
        photo = await upload(client, user["token"], imagegen.png_bytes(16, 16))
    yield {
        USER: user["user"]["id"],
        PHOTO: photo["data"]["uploadPhoto"]["id"],
        TOKEN: user["token"],
        BAD_TOKEN: "not-a-token",
    }


async def send_all(client: httpx.AsyncClient, cases: list[Case], ids: dict[str, str]) -> None:
    for number, case in enumerate(cases):
        try:
            response = await client.request(**case.request(ids))
        except Exception as exc:  # the in-process transport raises the app's exceptions
            raise AssertionError(f"case {number} raised {exc!r}: {case}") from exc
        try:
            check_client_error(response, code=None)
        except AssertionError as exc:
            raise AssertionError(f"case {number}: {case}\n{exc}") from exc


def test_the_cases_cover_every_kind() -> None:
    cases = fuzz_cases()
    assert len(cases) >= 300
    kinds = collections.Counter(case.kind for case in cases)
    assert set(kinds) == set(KINDS)
    assert len(set(kinds.values())) == 1, kinds
    assert generate(KINDS["raw"], 10) == generate(KINDS["raw"], 10)  # derandomized


async def test_fuzzed_requests_in_process(
    client: httpx.AsyncClient, placeholders: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    await send_all(client, fuzz_cases(), placeholders)
    assert error_records(caplog) == [], [r.getMessage() for r in error_records(caplog)][:5]
    assert (await client.get("/readyz")).status_code == 200


async def test_fuzzed_requests_through_gunicorn(
    live: httpx.AsyncClient, placeholders: dict[str, str]
) -> None:
    await send_all(live, fuzz_cases()[::LIVE_EVERY], placeholders)
    assert (await live.get("/readyz")).status_code == 200
