"""The photo object store (django-storages S3 backend) and public photo URLs.

Every photo has a random `key`; its renditions are the objects
`<key>/<size>.<ext>`. The key is 128 random bits, so object names cannot be
guessed from anything public (photo IDs, user IDs, time).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from storages.backends.s3 import S3Storage

from backend.photos.images import Rendition, Size
from backend.runtime import in_thread

EXTENSION = "jpg"


def photo_storage() -> S3Storage:
    storage = storages["default"]
    assert isinstance(storage, S3Storage)
    return storage


def new_key() -> str:
    return secrets.token_urlsafe(16)


def object_name(key: str, size: Size) -> str:
    return f"{key}/{size.name.lower()}.{EXTENSION}"


def object_names(key: str) -> list[str]:
    return [object_name(key, size) for size in Size]


def photo_url(key: str, size: Size) -> str:
    """The public (CDN) URL of one rendition."""
    return f"{settings.CDN_BASE_URL}/{object_name(key, size)}"


def _save(name: str, rendition: Rendition) -> None:
    content = ContentFile(rendition.data, name=name)
    content.content_type = rendition.content_type  # type: ignore[attr-defined]
    photo_storage().save(name, content)


async def asave_renditions(key: str, renditions: Iterable[Rendition]) -> None:
    """Upload the renditions concurrently; on any failure, none is left behind."""
    items = [(object_name(key, r.size), r) for r in renditions]
    results = await asyncio.gather(
        *(in_thread(_save, name, r) for name, r in items), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        await adelete_objects([name for name, _ in items])
        raise failures[0]


def delete_objects(names: list[str]) -> None:
    """Delete objects in one request (a missing object is not an error)."""
    if not names:
        return
    storage = photo_storage()
    storage.connection.meta.client.delete_objects(
        Bucket=storage.bucket_name,
        Delete={"Objects": [{"Key": n} for n in names], "Quiet": True},
    )


async def adelete_objects(names: list[str]) -> None:
    await in_thread(delete_objects, names)


def ensure_bucket() -> bool:
    """Create the bucket when missing; True when it was created."""
    storage = photo_storage()
    client = storage.connection.meta.client
    try:
        client.head_bucket(Bucket=storage.bucket_name)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket"}:
            raise
    client.create_bucket(Bucket=storage.bucket_name)
    return True
