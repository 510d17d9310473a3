"""The image pipeline on its own (no servers): formats, orientation, metadata, limits."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

import tests.imagegen as imagegen
from backend.errors import InvalidInput
from backend.photos.images import Size, check_and_process


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("data", "large", "medium"),
    [
        (lambda: imagegen.phone_jpeg(4032, 3024, orientation=1), (1080, 810), (640, 480)),
        (lambda: imagegen.phone_jpeg(4032, 3024, orientation=8), (810, 1080), (480, 640)),
        (lambda: imagegen.png_bytes(900, 1600, alpha=True), (608, 1080), (360, 640)),
        (lambda: imagegen.webp_bytes(2000, 2000), (1080, 1080), (640, 640)),
        (lambda: imagegen.heic_bytes(1200, 900), (1080, 810), (640, 480)),
        (lambda: imagegen.cmyk_jpeg(700, 500), (700, 500), (640, 457)),
    ],
    ids=["jpeg", "jpeg-orientation-8", "png-alpha", "webp", "heic", "cmyk-small"],
)
def test_sizes_and_orientation(data, large, medium) -> None:
    image = check_and_process(data())
    assert (image.width, image.height) == large
    got = {size: _open(r.data) for size, r in image.renditions.items()}
    assert got[Size.LARGE].size == large
    assert got[Size.MEDIUM].size == medium
    assert got[Size.THUMBNAIL].size == (150, 150)
    for rendition in got.values():
        assert rendition.format == "JPEG" and rendition.mode == "RGB"
        assert rendition.info.get("progressive") or rendition.info.get("progression")
        assert not rendition.getexif()
        assert "exif" not in rendition.info and "xmp" not in rendition.info
    assert 6 <= len(image.blurhash) <= 64


def test_orientation_moves_the_pixels() -> None:
    # The red block sits top-left in the stored (landscape) pixels; orientation 6
    # means "rotate 90° clockwise to view", which puts it top-right.
    image = check_and_process(imagegen.phone_jpeg(1200, 900, orientation=6, gps=False))
    large = _open(image.renditions[Size.LARGE].data)
    assert large.size == (810, 1080)
    red, green, blue = large.getpixel((large.width - 20, 20))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60
    red, _, _ = large.getpixel((20, 20))  # type: ignore[misc]
    assert red < 200


def test_gps_is_gone() -> None:
    source = imagegen.phone_jpeg(1200, 900, gps=True)
    assert _open(source).getexif().get_ifd(0x8825), "the source has a GPS position"
    for rendition in check_and_process(source).renditions.values():
        assert not _open(rendition.data).getexif().get_ifd(0x8825)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lambda: b"", "empty"),
        (imagegen.not_an_image, "not an image"),
        (imagegen.truncated_jpeg, "truncated"),
        (lambda: b"GIF89a" + b"\x00" * 64, "not an image"),
    ],
    ids=["empty", "pdf", "truncated", "gif"],
)
def test_bad_input_is_refused(data, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_and_process(data())


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = imagegen.bomb_png()
    assert len(bomb) < 1_000_000
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="pixels"):
        check_and_process(bomb)
    assert time.perf_counter() - started < 1.0


def test_size_limit(settings) -> None:
    data = imagegen.png_bytes(300, 300)
    settings.PHOTO_MAX_BYTES = len(data) - 1
    with pytest.raises(InvalidInput, match="larger than"):
        check_and_process(data)
