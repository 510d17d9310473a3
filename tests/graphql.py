"""Helpers for GraphQL over HTTP in tests."""

from __future__ import annotations

import json
from typing import Any

import httpx


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


SIGN_UP = """
mutation($username: String!, $password: String!, $email: String) {
  signUp(username: $username, password: $password, email: $email) {
    token user { id username fullName bio isPrivate }
  }
}"""

LOG_IN = """
mutation($username: String!, $password: String!) {
  logIn(username: $username, password: $password) { token user { id username } }
}"""

VIEWER = "{ viewer { id username } }"


async def sign_up(
    client: httpx.AsyncClient, username: str, password: str = "correct horse battery"
) -> dict[str, Any]:
    body = await gql(client, SIGN_UP, {"username": username, "password": password})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["signUp"]
    return payload


UPLOAD = """
mutation($file: Upload!, $caption: String) {
  uploadPhoto(file: $file, caption: $caption) {
    id caption width height blurhash likeCount
    thumbnail: url(size: THUMBNAIL) medium: url(size: MEDIUM) large: url(size: LARGE)
    owner { id username }
  }
}"""


async def upload(
    client: httpx.AsyncClient,
    token: str | None,
    data: bytes,
    *,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    caption: str | None = None,
    query: str = UPLOAD,
) -> dict[str, Any]:
    """A GraphQL multipart request (the spec's operations/map/file parts)."""
    operations = {"query": query, "variables": {"file": None, "caption": caption}}
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, data, content_type)},
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
