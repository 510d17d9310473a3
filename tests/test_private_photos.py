"""Private accounts' photos stay private, through HTTP against the real S3 server.

The bucket is not listable without credentials; a public account's photo has
a stable URL anyone can load; a private account's objects are private and
their URLs are presigned and expire; flipping `isPrivate` changes which kind
of URL is issued at once and the objects' ACLs soon after (a worker job).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from django.conf import settings as django_settings

import tests.imagegen as imagegen
from backend.photos.storage import photo_storage
from tests.graphql import gql, sign_up, upload

S3 = os.environ["S3_ENDPOINT_URL"]
BUCKET = os.environ["S3_BUCKET"]

PRIVATE = "mutation($p: Boolean) { updateProfile(isPrivate: $p) { isPrivate } }"
FOLLOW = "mutation($id: ID!) { follow(userId: $id) { id } }"
APPROVE = "mutation($id: ID!) { approveFollowRequest(userId: $id) { id } }"
URL = "query($id: ID!) { photo(id: $id) { url(size: LARGE) } }"
SIZES = ("thumbnail", "medium", "large")
FEED_URLS = "{ feed(first: 10) { edges { node { id url(size: THUMBNAIL) } } } }"


def _signed(url: str) -> bool:
    return "X-Amz-Signature" in parse_qs(urlsplit(url).query)


def _unsigned(url: str) -> str:
    """The same object's plain URL (what a public account's URL looks like)."""
    return f"{django_settings.CDN_BASE_URL}/{urlsplit(url).path.split('/', 2)[2]}"


async def _get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as anonymous:
        return await anonymous.get(url)


async def _wait_for(check: Any, what: str, within: float = 20.0) -> None:
    """Poll `await check()` until true (the worker's job runs in its own time)."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.1)


async def _url(client: httpx.AsyncClient, photo_id: str, token: str | None) -> str:
    body = await gql(client, URL, {"id": photo_id}, token=token)
    assert "errors" not in body, body
    url: str = body["data"]["photo"]["url"]
    return url


async def _private_owner_and_follower(
    client: httpx.AsyncClient, unique: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    owner = await sign_up(client, f"prv_{unique}")
    follower = await sign_up(client, f"prf_{unique}")
    await gql(client, PRIVATE, {"p": True}, token=owner["token"])
    await gql(client, FOLLOW, {"id": owner["user"]["id"]}, token=follower["token"])
    approved = await gql(client, APPROVE, {"id": follower["user"]["id"]}, token=owner["token"])
    assert "errors" not in approved, approved
    return owner, follower


async def test_the_bucket_is_not_listable_anonymously() -> None:
    async with httpx.AsyncClient(base_url=S3, timeout=10) as anonymous:
        for path in (f"/{BUCKET}?list-type=2", f"/{BUCKET}", "/", f"/{BUCKET}?acl"):
            response = await anonymous.get(path)
            assert response.status_code == 403, (path, response.status_code, response.text)
            assert "<Code>AccessDenied</Code>" in response.text
        # Nor can anyone write, or reach the S3 server's own admin API.
        assert (await anonymous.put(f"/{BUCKET}/x/large.jpg", content=b"x")).status_code == 403
        assert (await anonymous.post("/moto-api/reset")).status_code == 403
    # Control: the app's credentials still list it.
    client = photo_storage().connection.meta.client
    listed = await asyncio.to_thread(client.list_objects_v2, Bucket=BUCKET, MaxKeys=1)
    assert listed["ResponseMetadata"]["HTTPStatusCode"] == 200


async def test_a_forged_or_tampered_signature_is_refused(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner, follower = await _private_owner_and_follower(client, unique)
    body = await upload(client, owner["token"], imagegen.png_bytes(64, 48))
    url = await _url(client, body["data"]["uploadPhoto"]["id"], follower["token"])
    assert (await _get(url)).status_code == 200
    forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert (await _get(forged)).status_code == 403
    longer = url.replace("X-Amz-Expires=", "X-Amz-Expires=9")
    assert (await _get(longer)).status_code == 403
    assert (await _get(_unsigned(url) + "?X-Amz-Signature=x")).status_code == 403


async def test_a_public_account_has_stable_urls_anyone_can_load(
    live: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(live, f"pub_{unique}")
    body = await upload(live, owner["token"], imagegen.png_bytes(120, 80))
    photo = body["data"]["uploadPhoto"]
    assert not _signed(photo["large"])
    assert photo["large"].startswith(django_settings.CDN_BASE_URL + "/")
    # The same URL for everyone, every time (cacheable).
    assert await _url(live, photo["id"], None) == photo["large"]
    response = await _get(photo["large"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert "immutable" in response.headers["cache-control"]


async def test_a_private_photo_url_works_until_it_expires(
    client: httpx.AsyncClient, unique: str, settings: Any
) -> None:
    ttl = 3
    settings.PRIVATE_PHOTO_URL_TTL = ttl
    owner, follower = await _private_owner_and_follower(client, unique)
    body = await upload(client, owner["token"], imagegen.png_bytes(200, 100))
    assert "errors" not in body, body
    photo_id = body["data"]["uploadPhoto"]["id"]
    # Its objects were written private: the plain URL never worked.
    assert (await _get(_unsigned(body["data"]["uploadPhoto"]["large"]))).status_code == 403

    url = await _url(client, photo_id, follower["token"])
    issued = time.monotonic()
    assert _signed(url)
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == [str(ttl)]
    response = await _get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    # Browsers may keep it while the URL lives; shared caches may not.
    assert response.headers["cache-control"] == f"private, max-age={ttl}"

    async def refused() -> bool:
        return (await _get(url)).status_code == 403

    await _wait_for(refused, "the URL expires", within=ttl + 10)
    # Not before its time (S3 signs in whole seconds: up to 1 s early).
    assert time.monotonic() - issued >= ttl - 1
    assert "expired" in (await _get(url)).text
    # A new request gives a new URL that works.
    fresh = await _url(client, photo_id, follower["token"])
    assert (await _get(fresh)).status_code == 200


async def test_the_owner_and_approved_followers_get_signed_urls_in_the_feed(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner, follower = await _private_owner_and_follower(client, unique)
    body = await upload(client, owner["token"], imagegen.png_bytes(90, 90))
    photo_id = body["data"]["uploadPhoto"]["id"]
    assert _signed(await _url(client, photo_id, owner["token"]))

    async def in_feed() -> bool:
        feed = await gql(client, FEED_URLS, token=follower["token"])
        return any(e["node"]["id"] == photo_id for e in feed["data"]["feed"]["edges"])

    await _wait_for(in_feed, "the photo reaches the follower's feed")
    feed = await gql(client, FEED_URLS, token=follower["token"])
    (url,) = [
        e["node"]["url"] for e in feed["data"]["feed"]["edges"] if e["node"]["id"] == photo_id
    ]
    assert _signed(url)
    assert (await _get(url)).status_code == 200


async def test_flipping_is_private_changes_the_urls_and_the_objects(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(client, f"flip_{unique}")
    body = await upload(client, owner["token"], imagegen.png_bytes(300, 200))
    photo = body["data"]["uploadPhoto"]
    plain = {size: photo[size] for size in SIZES}
    for url in plain.values():
        assert not _signed(url)
        assert (await _get(url)).status_code == 200
    sizes = " ".join(f"{s}: url(size: {s.upper()})" for s in SIZES)
    query = f'{{ photo(id: "{photo["id"]}") {{ {sizes} }} }}'

    async def urls_now() -> dict[str, str]:
        answer = await gql(client, query, token=owner["token"])
        urls: dict[str, str] = answer["data"]["photo"]
        return urls

    # Private: the very next request gets signed URLs...
    await gql(client, PRIVATE, {"p": True}, token=owner["token"])
    signed = await urls_now()
    for url in signed.values():
        assert _signed(url)
        assert (await _get(url)).status_code == 200

    # ...and the objects stop being public as soon as the worker's job has run.
    async def plain_refused() -> bool:
        codes = [(await _get(url)).status_code for url in plain.values()]
        return codes == [403] * len(SIZES)

    await _wait_for(plain_refused, "the objects turn private")
    for url in signed.values():
        assert (await _get(url)).status_code == 200

    # Public again: URLs stay signed (and working) until every object is
    # public-read, then the stable URLs come back and work for anyone.
    await gql(client, PRIVATE, {"p": False}, token=owner["token"])

    async def plain_issued() -> bool:
        urls = await urls_now()
        for url in urls.values():
            assert (await _get(url)).status_code == 200, url
        return not any(_signed(url) for url in urls.values())

    await _wait_for(plain_issued, "the plain URLs are issued again")
    assert await urls_now() == plain


def test_presigning_uses_one_client_per_process(monkeypatch: Any) -> None:
    import boto3

    from backend.photos import storage
    from backend.photos.images import Size

    made: list[object] = []
    real = boto3.session.Session.client

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "client", counting)
    storage._presigner.cache_clear()
    urls = [storage.photo_url(f"key{n}", Size.LARGE, signed=True) for n in range(20)]
    assert len(made) == 1
    assert all(_signed(url) for url in urls)
