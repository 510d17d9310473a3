"""Test images made on the fly: phone-style JPEGs with EXIF, PNG, WebP, broken files."""

from __future__ import annotations

import functools
import io
import random
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
    width: int = 4032, height: int = 3024, *, orientation: int = 1, gps: bool = True, seed: int = 0
) -> bytes:
    """A camera-like JPEG: EXIF Orientation, Make/Model and (optionally) a GPS position."""
    image = _picture(width, height, seed)
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = "iPhone 15"  # Model
    if gps:
        exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


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
