"""Body limits that hold for every framing, files per request, decoding memory."""

from __future__ import annotations

import asyncio
import json
import os
import struct
import zlib
from typing import Any

import httpx

from backend.limits import body_limit
from tests.graphql import UPLOAD, error_codes, gql, sign_up, upload
from tests.imagegen import phone_jpeg

CHUNK = 1024 * 1024


async def _chunked_upload(token: str, total: int) -> tuple[int, dict[str, Any], int]:
    """A multipart upload of `total` bytes, sent chunked (no Content-Length) to
    the stack's gunicorn over a raw socket. Returns (status, body, bytes sent)."""
    boundary = "bodylimitboundary"
    operations = json.dumps({"query": UPLOAD, "variables": {"file": None}})
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        f'{operations}\r\n--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
        '{"0": ["variables.file"]}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", int(os.environ["APP_PORT"]))
    writer.write(
        (
            "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        ).encode()
    )
    sent = 0
    tail = f"\r\n--{boundary}--\r\n".encode()
    payload = [head] + [b"\xff" * CHUNK] * (total // CHUNK) + [tail]

    # Read while writing, as curl does: the server may answer (and close)
    # before the body ends, and an answer not read before the connection is
    # reset would be lost.
    async def read_answer() -> bytes:
        data = b""
        try:
            while chunk := await reader.read(65536):
                data += chunk
        except ConnectionError:
            pass
        return data

    answer = asyncio.create_task(read_answer())
    try:
        for part in payload:
            if answer.done():
                break
            writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            await writer.drain()
            sent += len(part)
        else:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except ConnectionError:
        pass  # the server closed the connection after answering
    response = await asyncio.wait_for(answer, timeout=30)
    writer.close()
    status = int(response.split(b" ", 2)[1])
    body = json.loads(response.split(b"\r\n\r\n", 1)[1] or b"{}")
    return status, body, sent


async def test_a_chunked_body_past_the_limit_is_cut_off_with_413(
    live: httpx.AsyncClient, unique: str
) -> None:
    user = await sign_up(live, f"bl_{unique}")
    status, body, sent = await _chunked_upload(user["token"], 60 * CHUNK)
    assert status == 413
    assert error_codes(body) == ["BAD_USER_INPUT"]
    # Cut off soon after the limit (what the socket buffers held while the
    # server answered is on the way), long before the 60 MB end.
    assert body_limit() < sent < body_limit() + 16 * CHUNK, sent
    viewer = await gql(live, "{ viewer { photoCount } }", token=user["token"])
    assert viewer["data"]["viewer"]["photoCount"] == 0
    ready = await live.get("/readyz")
    assert ready.status_code == 200


async def test_a_chunked_body_within_the_limit_is_read(
    live: httpx.AsyncClient, unique: str
) -> None:
    """Control: the same framing with a small (not a JPEG) body reaches the resolver."""
    user = await sign_up(live, f"bs_{unique}")
    status, body, _ = await _chunked_upload(user["token"], 2 * CHUNK)
    assert status == 200
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "not an image" in body["errors"][0]["message"]


async def test_a_declared_length_past_the_limit_is_refused_unread(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql", content=b"x", headers={"Content-Length": str(body_limit() + 1)}
    )
    assert response.status_code == 413
    assert error_codes(response.json()) == ["BAD_USER_INPUT"]


async def test_one_file_per_request(client: httpx.AsyncClient, unique: str) -> None:
    user = await sign_up(client, f"bf_{unique}")
    image = phone_jpeg(64, 48, gps=False)
    operations = {"query": UPLOAD, "variables": {"file": None}}
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files=[("0", ("a.jpg", image, "image/jpeg")), ("1", ("b.jpg", image, "image/jpeg"))],
        headers={"Authorization": f"Bearer {user['token']}"},
    )
    assert response.status_code == 400, response.text
    assert "files" in response.text.lower()
    viewer = await gql(client, "{ viewer { photoCount } }", token=user["token"])
    assert viewer["data"]["viewer"]["photoCount"] == 0


def _png_header_only(width: int, height: int, bit_depth: int, colour_type: int) -> bytes:
    """A PNG whose header promises a huge image (its pixel data is a stub):
    what a 100 KB decompression bomb looks like to the header check."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


async def test_decoding_memory_is_bounded_before_decoding(
    client: httpx.AsyncClient, unique: str
) -> None:
    user = await sign_up(client, f"bd_{unique}")
    # 7740 x 7740 is under the 60 MP limit, but 16-bit RGB needs 6 bytes a
    # pixel, RGBA and 16-bit grey+alpha 4: all past PHOTO_MAX_DECODE_BYTES (180 MiB).
    for bit_depth, colour_type in [(16, 2), (8, 6), (16, 4)]:
        data = _png_header_only(7740, 7740, bit_depth, colour_type)
        body = await upload(client, user["token"], data, filename="bomb.png",
                            content_type="image/png")  # fmt: skip
        assert error_codes(body) == ["BAD_USER_INPUT"], (bit_depth, colour_type, body)
        assert "MiB to decode" in body["errors"][0]["message"], body
    # 8-bit greyscale of the same size needs 57 MiB: past this check (the stub
    # data then fails to decode, also as bad input).
    body = await upload(client, user["token"], _png_header_only(7740, 7740, 8, 0),
                        filename="grey.png", content_type="image/png")  # fmt: skip
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "MiB to decode" not in body["errors"][0]["message"]
