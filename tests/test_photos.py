"""Photos through HTTP: upload, sizes served by the CDN URL, metadata, delete, pages."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image

import tests.imagegen as imagegen
from backend.photos import photo_map
from backend.photos.storage import photo_storage
from tests.graphql import error_codes, gql, sign_up, upload
from tests.queues import drain

PHOTO = """
query($id: ID!) {
  photo(id: $id) { id caption width height owner { id username photoCount } }
}"""

PHOTOS_PAGE = """
query($id: ID!, $first: Int!, $after: String) {
  user(id: $id) {
    photoCount
    photos(first: $first, after: $after) {
      edges { cursor node { id caption } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""

DELETE = "mutation($id: ID!) { deletePhoto(id: $id) }"


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


async def _fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as cdn:
        return await cdn.get(url)


def _object_exists(name: str) -> bool:
    storage = photo_storage()
    return bool(storage.exists(name))


async def test_upload_jpeg_through_gunicorn_serves_three_sizes(
    live: httpx.AsyncClient, unique: str
) -> None:
    user = await sign_up(live, f"up_{unique}")
    # A 12-megapixel landscape sensor image the phone marked "rotate 90° CW".
    data = imagegen.phone_jpeg(4032, 3024, orientation=6, gps=True)
    body = await upload(live, user["token"], data, caption="  sunset  ")
    assert "errors" not in body, body
    photo = body["data"]["uploadPhoto"]
    assert photo["caption"] == "sunset"
    assert photo["owner"]["id"] == user["user"]["id"]
    assert (photo["width"], photo["height"]) == (810, 1080)  # portrait after EXIF rotation
    assert photo["blurhash"]

    expected = {"thumbnail": (150, 150), "medium": (480, 640), "large": (810, 1080)}
    for field, dims in expected.items():
        response = await _fetch(photo[field])
        assert response.status_code == 200, (field, response.status_code)
        assert response.headers["content-type"] == "image/jpeg"
        assert "max-age=31536000" in response.headers["cache-control"]
        image = _image(response.content)
        assert image.size == dims, field
        assert not image.getexif(), f"{field} still carries EXIF"
        assert "exif" not in image.info and "xmp" not in image.info
        assert b"GPS" not in response.content

    photo_id = int(photo["id"])
    assert await photo_map.aget_owner(photo_id) == int(user["user"]["id"])


async def test_upload_png_keeps_small_images_unscaled(
    client: httpx.AsyncClient, unique: str
) -> None:
    user = await sign_up(client, f"png_{unique}")
    body = await upload(
        client,
        user["token"],
        imagegen.png_bytes(500, 300, alpha=True),
        filename="screenshot.png",
        content_type="image/png",
    )
    assert "errors" not in body, body
    photo = body["data"]["uploadPhoto"]
    assert (photo["width"], photo["height"]) == (500, 300)
    assert _image((await _fetch(photo["large"])).content).size == (500, 300)
    assert _image((await _fetch(photo["medium"])).content).size == (500, 300)
    assert _image((await _fetch(photo["thumbnail"])).content).size == (150, 150)


async def test_type_comes_from_the_bytes_not_the_name(
    client: httpx.AsyncClient, unique: str
) -> None:
    user = await sign_up(client, f"name_{unique}")
    # PNG bytes named .jpg are accepted as the PNG they are...
    body = await upload(client, user["token"], imagegen.png_bytes(200, 200), filename="x.jpg")
    assert "errors" not in body, body
    # ...and a text file named .jpg is refused.
    body = await upload(client, user["token"], imagegen.not_an_image(), filename="cat.jpg")
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_upload_requires_sign_in_and_checks_caption(
    client: httpx.AsyncClient, unique: str
) -> None:
    data = imagegen.png_bytes(64, 64)
    assert error_codes(await upload(client, None, data)) == ["UNAUTHENTICATED"]
    user = await sign_up(client, f"cap_{unique}")
    body = await upload(client, user["token"], data, caption="x" * 2201)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "caption" in body["errors"][0]["message"]


async def test_photo_query_and_newest_first_pages(client: httpx.AsyncClient, unique: str) -> None:
    user = await sign_up(client, f"page_{unique}")
    ids = []
    for n in range(5):
        body = await upload(client, user["token"], imagegen.png_bytes(40 + n, 40), caption=f"#{n}")
        assert "errors" not in body, body
        ids.append(body["data"]["uploadPhoto"]["id"])

    one = await gql(client, PHOTO, {"id": ids[0]})
    assert one["data"]["photo"]["caption"] == "#0"
    assert one["data"]["photo"]["owner"]["photoCount"] == 5
    assert (await gql(client, PHOTO, {"id": "12345"}))["data"]["photo"] is None

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        body = await gql(
            client, PHOTOS_PAGE, {"id": user["user"]["id"], "first": 2, "after": after}
        )
        conn = body["data"]["user"]["photos"]
        seen += [e["node"]["id"] for e in conn["edges"]]
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == list(reversed(ids))
    assert pages == 3
    bad = await gql(client, PHOTOS_PAGE, {"id": user["user"]["id"], "first": 2, "after": "nope"})
    assert error_codes(bad) == ["BAD_USER_INPUT"]
    too_many = await gql(client, PHOTOS_PAGE, {"id": user["user"]["id"], "first": 1000})
    assert error_codes(too_many) == ["BAD_USER_INPUT"]


async def test_delete_removes_row_objects_and_map_entry(
    client: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(client, f"del_{unique}")
    other = await sign_up(client, f"del2_{unique}")
    body = await upload(client, owner["token"], imagegen.png_bytes(300, 200))
    photo: dict[str, Any] = body["data"]["uploadPhoto"]
    names = [url.split("/", 4)[-1] for url in (photo["thumbnail"], photo["medium"], photo["large"])]
    assert all(_object_exists(n) for n in names)

    denied = await gql(client, DELETE, {"id": photo["id"]}, token=other["token"])
    assert error_codes(denied) == ["FORBIDDEN"]
    assert error_codes(await gql(client, DELETE, {"id": photo["id"]})) == ["UNAUTHENTICATED"]

    done = await gql(client, DELETE, {"id": photo["id"]}, token=owner["token"])
    assert done["data"]["deletePhoto"] is True
    await drain()  # PHOTO_DELETED's consumers remove the objects and the map entry
    assert not any(_object_exists(n) for n in names)
    assert (await _fetch(photo["large"])).status_code in {403, 404}
    assert (await gql(client, PHOTO, {"id": photo["id"]}))["data"]["photo"] is None
    assert await photo_map.aget_owner(int(photo["id"])) is None
    count = await gql(client, PHOTOS_PAGE, {"id": owner["user"]["id"], "first": 1})
    assert count["data"]["user"]["photoCount"] == 0

    again = await gql(client, DELETE, {"id": photo["id"]}, token=owner["token"])
    assert error_codes(again) == ["NOT_FOUND"]


def _bucket_objects() -> set[str]:
    storage = photo_storage()
    client = storage.connection.meta.client
    names: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=storage.bucket_name):
        names.update(o["Key"] for o in page.get("Contents", []))
    return names


@pytest.mark.serial  # counts every object in the bucket: nothing else may upload meanwhile
@pytest.mark.parametrize(
    "case", ["oversize", "not_an_image", "truncated", "bomb", "no_profile_row"]
)
async def test_rejected_upload_leaves_nothing_behind(
    client: httpx.AsyncClient, unique: str, settings: Any, case: str
) -> None:
    user = await sign_up(client, f"rej_{unique}")
    data = {
        "oversize": imagegen.phone_jpeg(4032, 3024),  # several MB
        "not_an_image": imagegen.not_an_image(),
        "truncated": imagegen.truncated_jpeg(),
        "bomb": imagegen.bomb_png(),
        "no_profile_row": imagegen.png_bytes(100, 100),
    }[case]
    # Just under the file's size: the request passes the body limit (limit +
    # 1 MiB for the envelope) and the upload check refuses the file itself.
    settings.PHOTO_MAX_BYTES = len(data) - 1 if case == "oversize" else 2_000_000
    if case == "no_profile_row":
        # The images are stored before the row is written; a row that cannot
        # be written (the profile is gone) must take the stored images with it.
        from tests.shardutil import delete_profile

        await delete_profile(int(user["user"]["id"]))
    before = _bucket_objects()
    body = await upload(client, user["token"], data)
    expected = "NOT_FOUND" if case == "no_profile_row" else "BAD_USER_INPUT"
    assert error_codes(body) == [expected], body
    assert _bucket_objects() == before
    if case != "no_profile_row":
        count = await gql(client, PHOTOS_PAGE, {"id": user["user"]["id"], "first": 1})
        assert count["data"]["user"]["photoCount"] == 0
        assert count["data"]["user"]["photos"]["edges"] == []


async def test_oversized_request_body_is_refused_before_it_is_read(live_url: str) -> None:
    from backend.limits import body_limit

    # A client declares a body over the limit and sends only its first bytes:
    # the answer comes at once, without the server waiting for (or storing) the rest.
    host, port = live_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: multipart/form-data; boundary=zzz\r\n"
        + f"Content-Length: {body_limit() + 1}\r\n\r\n".encode()
        + b"x" * 1024
    )
    await writer.drain()
    # The server closes the connection after the answer: read to the end.
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert error_codes(json.loads(body)) == ["BAD_USER_INPUT"]
    writer.close()
