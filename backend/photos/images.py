"""The image pipeline of an upload: check the bytes, orient, render the sizes.

Decisions (docs/decisions/0009-photo-renditions.md):
- The type comes from the bytes (Pillow's format detection), never the name;
  accepted: JPEG (MPO too: phone JPEGs with a depth or gain map), PNG, WebP
  and HEIC/HEIF (pillow-heif). Anything else is refused, naming those.
- Limits are checked from the header before any pixel is decoded, so a
  decompression bomb costs nothing: PHOTO_MAX_BYTES and PHOTO_MAX_PIXELS.
  Pillow's own bomb check (Image.MAX_IMAGE_PIXELS, 89 MP) stays on as a
  second line and is refused the same way, so PHOTO_MAX_PIXELS above about
  178 MP has no effect.
- Truncated or corrupt files are refused (LOAD_TRUNCATED_IMAGES stays off).
- Animated images (APNG, animated WebP) and MPO keep their first frame only.
- EXIF orientation is applied; outputs carry no metadata at all (no EXIF, so
  no GPS; no XMP, no comments; no ICC: pixels are converted to sRGB first).
- THUMBNAIL and SQUARE are 150x150 and 640x640 centre crops (grid views: a
  3-column grid on a 3x phone needs ~430 px a cell); MEDIUM and LARGE keep the
  aspect ratio with the longest side at 640 / 1080. Nothing is ever upscaled:
  a square of an image shorter than its side is as large as the shorter side
  (a 60x40 upload gets 40x40 squares, not a blurred 150x150).
- Outputs are progressive JPEG (quality 82, 4:2:0): every client decodes it
  (the WebP trade-off, measured, is in the decision record).
- Speed, measured on a 12 MP, 3.9 MB phone JPEG: entropy decoding is the
  floor (33 ms even at 1/8 scale), so everything else is kept small. JPEGs
  are decoded with draft() (libjpeg's DCT scaling by 1/2, 1/4, 1/8) at the
  smallest scale still at least the LARGE size; all resizing, rotation and
  colour conversion happen after that; MEDIUM comes from LARGE, SQUARE
  from LARGE and THUMBNAIL from SQUARE. Pillow releases the GIL while it decodes, resizes and
  encodes, so threads (runtime.in_thread) use both cores.
"""

from __future__ import annotations

import enum
import functools
import io
import struct
from dataclasses import dataclass

import blurhash
from django.conf import settings
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from backend.errors import InvalidInput

try:  # HEIC/HEIF (iPhone photos) when the optional reader is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF = True
except ImportError:  # pragma: no cover - depends on the environment
    HEIF = False

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"} | ({"HEIF"} if HEIF else set())
JPEG_QUALITY = 82
JPEG_SUBSAMPLING = "4:2:0"
# Hamming keeps edges crisp at half Lanczos's cost; measured on the 12 MP test
# photo: LARGE 18 ms (Lanczos 41), MEDIUM 5.6 ms (Lanczos 12.5), and within
# 1.6 dB PSNR of a Lanczos resize of the full-resolution decode.
RESAMPLE = Image.Resampling.HAMMING
BLURHASH_COMPONENTS = (4, 3)
BLURHASH_SOURCE = 32  # the blurhash is computed from a 32-pixel copy (< 1 ms)
CONTENT_TYPE = "image/jpeg"
EXTENSION = "jpg"

# What a corrupt file can raise from inside Pillow's decoders and parsers.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)
_SRGB = ImageCms.createProfile("sRGB")


class Size(enum.Enum):
    """A rendition: its object name (`<key>/<name>.jpg`) and its side in pixels
    (the square's side, or the longest side)."""

    THUMBNAIL = "thumbnail"
    SQUARE = "square"
    MEDIUM = "medium"
    LARGE = "large"

    @property
    def side(self) -> int:
        return SIDES[self]

    @property
    def square(self) -> bool:
        return self in (Size.THUMBNAIL, Size.SQUARE)


SIDES = {Size.THUMBNAIL: 150, Size.SQUARE: 640, Size.MEDIUM: 640, Size.LARGE: 1080}


@dataclass(frozen=True)
class Rendition:
    size: Size
    data: bytes
    width: int
    height: int
    content_type: str
    extension: str


@dataclass(frozen=True)
class ProcessedImage:
    renditions: dict[Size, Rendition]
    width: int
    height: int
    blurhash: str
    source_format: str


def _accepted_names() -> str:
    return ", ".join(sorted("HEIC" if f == "HEIF" else f for f in ACCEPTED_FORMATS))


def _too_many_pixels(pixels: int) -> InvalidInput:
    return InvalidInput(
        f"the image has {pixels} pixels; at most {settings.PHOTO_MAX_PIXELS} are accepted"
    )


def _open(data: bytes) -> Image.Image:
    """Identify the bytes and check the limits; reads the header only."""
    if not data:
        raise InvalidInput("the file is empty")
    if len(data) > settings.PHOTO_MAX_BYTES:
        raise InvalidInput(f"the file is larger than {settings.PHOTO_MAX_BYTES} bytes")
    try:
        image = Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own check, before ours could run (the warning is only an
        # exception where warnings are turned into errors).
        raise InvalidInput(f"the image has too many pixels ({exc})") from None
    except (UnidentifiedImageError, *_DECODE_ERRORS):
        raise InvalidInput(f"not an image of an accepted type ({_accepted_names()})") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidInput("the image has no pixels")
    if width * height > settings.PHOTO_MAX_PIXELS:
        raise _too_many_pixels(width * height)
    needed = decoded_bytes(image)
    if needed > settings.PHOTO_MAX_DECODE_BYTES:
        raise InvalidInput(
            f"the image needs {needed // 2**20} MiB to decode ({width}x{height}, "
            f"{image.mode}); at most {settings.PHOTO_MAX_DECODE_BYTES // 2**20} MiB"
        )
    return image


def decoded_bytes(image: Image.Image) -> int:
    """Memory the decoded pixels take, from the header: width x height x
    channels x bytes per channel (16-bit and alpha counted; a palette image
    becomes RGB or RGBA)."""
    mode = image.mode
    if mode == "P":
        channels = 4 if "transparency" in image.info else 3
    elif mode == "PA":
        channels = 4
    else:
        channels = len(image.getbands())
    depth = 1
    rawmode = ""
    tiles = getattr(image, "tile", None)  # an opened file's (ImageFile) decoder plan
    if tiles:
        args = tiles[0][3]
        rawmode = args if isinstance(args, str) else str(args[0]) if args else ""
    if ";16" in rawmode or mode.startswith("I;16"):
        depth = 2
    elif mode in ("I", "F"):
        depth = 4
    width, height = image.size
    return width * height * channels * depth


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _fitted(width: int, height: int, longest: int) -> tuple[int, int]:
    scale = min(1.0, longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _fit(image: Image.Image, longest: int) -> Image.Image:
    size = _fitted(image.width, image.height, longest)
    return image if size == image.size else image.resize(size, RESAMPLE)


@functools.lru_cache(maxsize=32)
def _to_srgb(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A colour transform from an embedded profile to sRGB; None if it needs none.

    Building one costs ~5 ms and applying it ~22 ms at the LARGE size, so sRGB
    profiles (most non-Apple photos) are skipped, and transforms are cached.
    NOCACHE: lcms's one-pixel cache is not safe across threads.
    """
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if ImageCms.getProfileDescription(profile).strip().startswith("sRGB"):
            return None
        return ImageCms.buildTransform(profile, _SRGB, mode, "RGB", flags=ImageCms.Flags.NOCACHE)
    except (ImageCms.PyCMSError, OSError, TypeError, ValueError):
        return None  # a broken or unusual profile: keep the pixels as they are


def _normalised(image: Image.Image) -> Image.Image:
    """Pixels in a mode that resizes well: RGB, RGBA, L, LA or CMYK."""
    if image.mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode == "PA":
        return image.convert("RGBA")
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I") or image.mode == "F":
        # 16/32-bit greyscale: keep the top 8 bits (Pillow would clip to white).
        return image.point(lambda v: v / 256).convert("L")
    if image.mode not in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return image.convert("RGB")
    return image


def _large(image: Image.Image) -> Image.Image:
    """The LARGE rendition's pixels: sRGB, RGB, oriented, longest side <= 1080.

    Scaled before it is rotated and colour-converted, so those steps touch a
    million pixels instead of twelve.
    """
    orientation = image.getexif().get(0x0112, 1)
    icc = image.info.get("icc_profile")
    target = _fitted(image.width, image.height, Size.LARGE.side)
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", target)  # DCT scaling, never below the target size
    image.load()
    image = _fit(_normalised(image), Size.LARGE.side)
    if image.mode in ("RGBA", "LA"):  # composite on white: JPEG has no alpha
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    transform = _to_srgb(icc, image.mode) if isinstance(icc, bytes) and icc else None
    if transform is not None:
        image = ImageCms.applyTransform(image, transform) or image
    if image.mode != "RGB":
        image = image.convert("RGB")
    transpose = _TRANSPOSE.get(orientation if isinstance(orientation, int) else 1)
    return image.transpose(transpose) if transpose is not None else image


def _square(image: Image.Image, side: int) -> Image.Image:
    """A centre crop to a square of `side`, or of the shorter side when the image
    is smaller: never enlarged."""
    side = min(side, image.width, image.height)
    return ImageOps.fit(image, (side, side), RESAMPLE)


def _encode(image: Image.Image, size: Size) -> Rendition:
    # Pillow copies info (comment, xmp...) through resize and writes some of
    # it back on save: clear it so nothing from the upload leaves.
    image.info = {}
    out = io.BytesIO()
    image.save(
        out,
        "JPEG",
        quality=JPEG_QUALITY,
        progressive=True,
        optimize=True,
        subsampling=JPEG_SUBSAMPLING,
    )
    return Rendition(
        size=size,
        data=out.getvalue(),
        width=image.width,
        height=image.height,
        content_type=CONTENT_TYPE,
        extension=EXTENSION,
    )


def check_and_process(data: bytes) -> ProcessedImage:
    """Validate an upload and render its sizes, without any of its metadata.

    Raises InvalidInput, with a message for the user, when the bytes are not
    an accepted image, are over the byte or pixel limit, or are corrupt.
    CPU-bound (tens of ms for a phone photo): call it from a thread.
    """
    image = _open(data)
    source_format = "JPEG" if image.format == "MPO" else str(image.format)
    try:
        large = _large(image)
    except _DECODE_ERRORS as exc:
        raise InvalidInput(f"the image is truncated or corrupt ({exc})") from None
    medium = _fit(large, Size.MEDIUM.side)
    square = _square(large, Size.SQUARE.side)
    thumbnail = _square(square, Size.THUMBNAIL.side)
    # The whole picture, as the feed shows it (blurhash.encode closes its input).
    tiny = medium.resize(_fitted(*medium.size, BLURHASH_SOURCE), Image.Resampling.BILINEAR)
    renditions = {
        Size.LARGE: _encode(large, Size.LARGE),
        Size.MEDIUM: _encode(medium, Size.MEDIUM),
        Size.SQUARE: _encode(square, Size.SQUARE),
        Size.THUMBNAIL: _encode(thumbnail, Size.THUMBNAIL),
    }
    return ProcessedImage(
        renditions=renditions,
        width=large.width,
        height=large.height,
        blurhash=blurhash.encode(tiny, *BLURHASH_COMPONENTS),
        source_format=source_format,
    )
