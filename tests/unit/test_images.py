"""The image pipeline on its own (no servers): formats, orientation, metadata, limits."""

from __future__ import annotations

import contextlib
import io
import random
import time
import warnings

import blurhash
import pytest
from PIL import Image, ImageChops, ImageStat

import tests.imagegen as imagegen
from backend.errors import InvalidInput
from backend.photos.images import ProcessedImage, Size, check_and_process

pytestmark = pytest.mark.unit


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _large(processed: ProcessedImage) -> Image.Image:
    return _open(processed.renditions[Size.LARGE].data)


@pytest.mark.parametrize(
    ("data", "source_format", "large", "medium"),
    [
        (lambda: imagegen.phone_jpeg(4032, 3024), "JPEG", (1080, 810), (640, 480)),
        (lambda: imagegen.phone_jpeg(4032, 3024, orientation=6), "JPEG", (810, 1080), (480, 640)),
        (lambda: imagegen.phone_jpeg(4032, 3024, orientation=8), "JPEG", (810, 1080), (480, 640)),
        (lambda: imagegen.phone_jpeg(3024, 4032, gps=False), "JPEG", (810, 1080), (480, 640)),
        (lambda: imagegen.phone_jpeg(6000, 1000, gps=False), "JPEG", (1080, 180), (640, 107)),
        (lambda: imagegen.png_bytes(900, 1600, alpha=True), "PNG", (608, 1080), (360, 640)),
        (lambda: imagegen.png_bytes(500, 300), "PNG", (500, 300), (500, 300)),
        (lambda: imagegen.webp_bytes(2000, 2000), "WEBP", (1080, 1080), (640, 640)),
        (lambda: imagegen.heic_bytes(1200, 900), "HEIF", (1080, 810), (640, 480)),
        (lambda: imagegen.cmyk_jpeg(700, 500), "JPEG", (700, 500), (640, 457)),
        (lambda: imagegen.mpo_jpeg(1600, 1200), "JPEG", (1080, 810), (640, 480)),
    ],
    ids=[
        "jpeg-landscape",
        "jpeg-orientation-6",
        "jpeg-orientation-8",
        "jpeg-portrait",
        "jpeg-panorama",
        "png-alpha-portrait",
        "png-small-not-upscaled",
        "webp-square",
        "heic",
        "cmyk-small",
        "mpo",
    ],
)
def test_sizes_and_format(data, source_format, large, medium) -> None:
    image = check_and_process(data())
    assert image.source_format == source_format
    assert (image.width, image.height) == large
    got = {size: _open(r.data) for size, r in image.renditions.items()}
    assert got[Size.LARGE].size == large
    assert got[Size.MEDIUM].size == medium
    shorter = min(large)  # squares are cut from LARGE, never enlarged
    assert got[Size.SQUARE].size == (min(640, shorter),) * 2
    assert got[Size.THUMBNAIL].size == (min(150, shorter),) * 2
    for size, rendition in image.renditions.items():
        assert (rendition.width, rendition.height) == got[size].size
        assert (rendition.content_type, rendition.extension) == ("image/jpeg", "jpg")
    for decoded in got.values():
        assert decoded.format == "JPEG" and decoded.mode == "RGB"
        assert decoded.info.get("progressive") or decoded.info.get("progression")
        assert not decoded.getexif()
        assert not {"exif", "xmp", "comment", "icc_profile"} & set(decoded.info)


@pytest.mark.parametrize(
    ("orientation", "corner"),
    [(6, "top-right"), (8, "bottom-left"), (3, "bottom-right"), (1, "top-left")],
)
def test_orientation_moves_the_pixels(orientation, corner) -> None:
    # The red block sits top-left in the stored (landscape) pixels; the EXIF
    # orientation says how to turn them for viewing, which moves the block.
    image = _large(check_and_process(imagegen.phone_jpeg(1200, 900, orientation=orientation)))
    w, h = image.width - 20, image.height - 20
    corners = {"top-left": (20, 20), "top-right": (w, 20), "bottom-left": (20, h)}
    corners["bottom-right"] = (w, h)
    for name, xy in corners.items():
        red, green, blue = image.getpixel(xy)  # type: ignore[misc]
        is_red = red > 200 and green < 60 and blue < 60
        assert is_red == (name == corner), (name, (red, green, blue))


def test_gps_is_gone() -> None:
    source = imagegen.phone_jpeg(1200, 900, gps=True)
    assert _open(source).getexif().get_ifd(0x8825), "the source has a GPS position"
    for rendition in check_and_process(source).renditions.values():
        assert not _open(rendition.data).getexif().get_ifd(0x8825)
        assert b"iPhone" not in rendition.data  # no camera model either


def test_comments_and_xmp_are_gone() -> None:
    source = imagegen.jpeg_with_text(800, 600, b"private-note-1234")
    assert _open(source).info.get("comment") == b"private-note-1234"
    for rendition in check_and_process(source).renditions.values():
        assert b"private-note" not in rendition.data
        assert "comment" not in _open(rendition.data).info


def test_display_p3_is_converted_to_srgb() -> None:
    tagged = _large(check_and_process(imagegen.phone_jpeg(800, 600, gps=False, p3=True)))
    untagged = _large(check_and_process(imagegen.phone_jpeg(800, 600, gps=False)))
    assert "icc_profile" not in tagged.info
    # Same stored pixels; in sRGB the P3 ones come out more saturated.
    mean_difference = ImageStat.Stat(ImageChops.difference(tagged, untagged)).mean
    assert max(mean_difference) > 5, mean_difference


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (lambda: imagegen.png16_bytes(300, 200, 40_000), (156, 156, 156)),
        (lambda: _png(Image.new("RGBA", (300, 200), (10, 20, 30, 0))), (255, 255, 255)),
        (lambda: _png(Image.new("LA", (300, 200), (0, 255))), (0, 0, 0)),
        (lambda: _png(Image.new("1", (300, 200), 1)), (255, 255, 255)),
        (lambda: _png(Image.new("RGB", (300, 200), (0, 128, 0)).quantize(4)), (0, 128, 0)),
        (lambda: imagegen.animated_png(300, 200), (255, 0, 0)),  # the first frame
    ],
    ids=["16-bit-grey", "transparent-on-white", "grey-alpha", "1-bit", "palette", "animated"],
)
def test_pixel_modes_become_rgb(source, expected) -> None:
    large = _large(check_and_process(source()))
    assert large.mode == "RGB"
    pixel = large.getpixel((large.width // 2, large.height // 2))
    assert isinstance(pixel, tuple)
    assert all(abs(got - want) <= 3 for got, want in zip(pixel, expected, strict=True)), pixel


def test_blurhash_is_valid_and_of_the_picture() -> None:
    red = check_and_process(imagegen.animated_png(300, 200))
    assert len(red.blurhash) == 4 + 2 * 4 * 3  # 4x3 components
    assert blurhash.is_valid_blurhash(red.blurhash)
    assert blurhash.decode(red.blurhash, 2, 2).getpixel((0, 0))[0] > 200
    photo = check_and_process(imagegen.phone_jpeg(1200, 900, gps=False))
    assert blurhash.is_valid_blurhash(photo.blurhash)
    assert photo.blurhash != red.blurhash


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lambda: b"", "empty"),
        (imagegen.not_an_image, "not an image"),
        (lambda: b"just some text\n" * 10, "not an image"),
        (lambda: b"GIF89a" + b"\x00" * 64, "not an image"),
        (imagegen.truncated_jpeg, "truncated"),
        (imagegen.truncated_png, "truncated"),
    ],
    ids=["empty", "pdf", "text", "gif", "truncated-jpeg", "truncated-png"],
)
def test_bad_input_is_refused(data, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_and_process(data())


def test_refusal_names_the_accepted_types() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_and_process(imagegen.not_an_image())
    for name in ("JPEG", "PNG", "WEBP", "HEIC"):
        assert name in refused.value.message


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's "Corrupt EXIF data"
def test_corrupt_files_never_raise_anything_but_invalid_input() -> None:
    rng = random.Random(7)
    sources = [
        imagegen.phone_jpeg(300, 200),
        imagegen.png_bytes(200, 150, alpha=True),
        imagegen.webp_bytes(200, 150),
        imagegen.heic_bytes(200, 150),
    ]
    for source in sources:
        for attempt in range(40):
            data = bytearray(source)
            if attempt % 2:
                data = data[: rng.randrange(1, len(data))]
            else:
                for _ in range(rng.randrange(1, 8)):
                    data[rng.randrange(min(len(data), 600))] = rng.randrange(256)
            with contextlib.suppress(InvalidInput):
                check_and_process(bytes(data))


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = imagegen.bomb_png()
    assert len(bomb) < 1_000_000
    # CPU time, not wall time: a loaded machine must not fail it; decoding the
    # bomb would take minutes of CPU (and gigabytes), refusing it milliseconds.
    started = time.process_time()
    with pytest.raises(InvalidInput, match="pixels"):
        check_and_process(bomb)
    assert time.process_time() - started < 1.0


def test_pillows_own_bomb_check_is_refused_too(settings) -> None:
    settings.PHOTO_MAX_PIXELS = 10**12  # only Pillow's limit is left
    started = time.process_time()
    with pytest.raises(InvalidInput, match="too many pixels"):
        check_and_process(imagegen.bomb_png())  # above twice Pillow's limit: an error
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(InvalidInput, match="too many pixels"):
            check_and_process(imagegen.bomb_png(10_000))  # above it: a warning
    assert time.process_time() - started < 1.0


def test_pixel_limit_is_the_setting(settings) -> None:
    settings.PHOTO_MAX_PIXELS = 40 * 30
    assert check_and_process(imagegen.png_bytes(40, 30)).width == 40
    with pytest.raises(InvalidInput, match="1271 pixels"):
        check_and_process(imagegen.png_bytes(41, 31))


def test_size_limit(settings) -> None:
    data = imagegen.png_bytes(300, 300)
    settings.PHOTO_MAX_BYTES = len(data)
    assert check_and_process(data).width == 300
    settings.PHOTO_MAX_BYTES = len(data) - 1
    with pytest.raises(InvalidInput, match="larger than"):
        check_and_process(data)


@pytest.mark.parametrize(
    ("width", "height", "square", "thumbnail"),
    [(60, 40, 40, 40), (120, 400, 120, 120), (300, 200, 200, 150), (4032, 3024, 640, 150)],
)
def test_squares_are_never_enlarged(width, height, square, thumbnail) -> None:
    """A small upload's squares are as large as its shorter side: a 60x40 image
    is not blown up into a blurred 150x150 thumbnail."""
    image = check_and_process(imagegen.png_bytes(width, height))
    assert _open(image.renditions[Size.SQUARE].data).size == (square, square)
    assert _open(image.renditions[Size.THUMBNAIL].data).size == (thumbnail, thumbnail)
