"""Test images made on the fly: phone-style JPEGs with EXIF, PNG, WebP, broken files."""

from __future__ import annotations

import functools
import io
import random
import struct
import zlib

from PIL import Image, ImageDraw


def _picture(width: int, height: int, seed: int) -> Image.Image:
    """Gradients, shapes and noise: compresses like a photo, not like a flat colour."""
    small = Image.new("RGB", (64, 48))
    rng = random.Random(seed)
    small.putdata(
        [
            (x * 4 % 256, y * 5 % 256, (x * y + rng.randrange(64)) % 256)
            for y in range(48)
            for x in range(64)
        ]
    )
    image = small.resize((width, height), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(image)
    # A red block in the top-left corner of the stored pixels: shows the orientation.
    draw.rectangle((0, 0, width // 4, height // 4), fill=(255, 0, 0))
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    return Image.blend(image, noise, 0.15)


@functools.lru_cache(maxsize=16)
def phone_jpeg(
    width: int = 4032,
    height: int = 3024,
    *,
    orientation: int = 1,
    gps: bool = True,
    seed: int = 0,
    p3: bool = False,
) -> bytes:
    """A camera-like JPEG: EXIF Orientation, Make/Model and (optionally) a GPS position.

    At the default 4032x3024 it is about 3.9 MB, like a 12 MP phone photo at
    quality 92. p3: tagged with a Display P3 profile, as iPhones do.
    """
    image = _picture(width, height, seed)
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = "iPhone 15"  # Model
    if gps:
        exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    out = io.BytesIO()
    extra = {"icc_profile": display_p3_icc()} if p3 else {}
    image.save(out, "JPEG", quality=92, exif=exif.tobytes(), **extra)
    return out.getvalue()


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)


@functools.cache
def display_p3_icc() -> bytes:
    """A minimal ICC v2 matrix/TRC profile with Display P3 primaries (gamma 2.2).

    Hand-built because no profile file ships with the environment: enough for
    littleCMS to convert P3 pixels to sRGB, which changes their values.
    """
    name = b"Display P3 (test)"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(name) + 1) + name + b"\0" + bytes(78)
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(2.2 * 256)) + bytes(2)
    tags = [
        (b"desc", desc),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),  # D50, as ICC's connection space
        (b"rXYZ", _xyz(0.5151, 0.2412, -0.0011)),
        (b"gXYZ", _xyz(0.2920, 0.6922, 0.0419)),
        (b"bXYZ", _xyz(0.1571, 0.0666, 0.7841)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"cprt", b"text" + bytes(4) + b"none" + bytes(4)),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags:
        data += bytes(-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = (
        struct.pack(">I", offset + len(body))
        + bytes(4)
        + bytes([2, 0x10, 0, 0])
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(28)
        + _xyz(0.9642, 1.0, 0.8249)[8:]
        + bytes(48)
    )
    return header + table + body


def png_bytes(width: int, height: int, *, alpha: bool = False) -> bytes:
    image = _picture(width, height, 1)
    if alpha:
        image.putalpha(128)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def webp_bytes(width: int, height: int) -> bytes:
    out = io.BytesIO()
    _picture(width, height, 2).save(out, "WEBP", quality=80)
    return out.getvalue()


@functools.lru_cache(maxsize=4)
def bomb_png(side: int = 40_000) -> bytes:
    """A real PNG of sidexside black pixels (1.6 gigapixels) in a few hundred KB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    data = phone_jpeg(1200, 900, gps=False, seed=3)
    return data[: len(data) // 2]


def truncated_png() -> bytes:
    data = png_bytes(400, 300)
    return data[: len(data) // 2]


def png16_bytes(width: int, height: int, level: int) -> bytes:
    """A 16-bit greyscale PNG (scanners, some editors) of one level, 0-65535."""
    out = io.BytesIO()
    Image.new("I;16", (width, height), level).save(out, "PNG")
    return out.getvalue()


def animated_png(width: int, height: int) -> bytes:
    """An APNG of two frames: red, then blue."""
    frames = [Image.new("RGB", (width, height), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


def mpo_jpeg(width: int, height: int) -> bytes:
    """A JPEG with a second image appended (MPO), like phone photos with a gain map."""
    first = _picture(width, height, 6)
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[first.resize((width // 4, height // 4))])
    return out.getvalue()


def jpeg_with_text(width: int, height: int, text: bytes) -> bytes:
    """A JPEG carrying text in a comment and in XMP, and no ICC profile."""
    out = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + text + b"</x:xmpmeta>"
    _picture(width, height, 7).save(out, "JPEG", comment=text, xmp=xmp)
    return out.getvalue()


def not_an_image() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def heic_bytes(width: int, height: int) -> bytes:
    """An iPhone-style HEIC (needs pillow-heif, a dependency of the product)."""
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    _picture(width, height, 4).save(out, "HEIF", quality=80)
    return out.getvalue()


def cmyk_jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    _picture(width, height, 5).convert("CMYK").save(out, "JPEG", quality=85)
    return out.getvalue()
