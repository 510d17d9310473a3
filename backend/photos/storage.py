"""The photo object store (django-storages S3 backend) and photo URLs.

Every photo has a random `key`; its renditions are the objects
`<key>/<size>.<ext>`. The key is 128 random bits, so object names cannot be
guessed from anything public (photo IDs, user IDs, time).

Objects of public accounts are public-read and served at stable CDN URLs;
those of private accounts are private and served through presigned URLs that
expire (docs/decisions/0012-private-photos.md).
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Iterable
from typing import Any

import boto3
from botocore.client import Config
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from storages.backends.s3 import S3Storage

from backend.photos.images import Rendition, Size
from backend.runtime import in_thread

EXTENSION = "jpg"


def photo_storage(*, public: bool = True) -> S3Storage:
    """The storage whose writes get public accounts' ACL, or private accounts'."""
    storage = storages["default" if public else "private_photos"]
    assert isinstance(storage, S3Storage)
    return storage


def new_key() -> str:
    return secrets.token_urlsafe(16)


def object_name(key: str, size: Size) -> str:
    return f"{key}/{size.name.lower()}.{EXTENSION}"


def object_names(key: str) -> list[str]:
    return [object_name(key, size) for size in Size]


def photo_url(key: str, size: Size, *, signed: bool = False) -> str:
    """The URL of one rendition: the stable CDN URL, or (`signed`: the owner is
    private) a presigned S3 URL valid for PRIVATE_PHOTO_URL_TTL seconds.

    Presigning is CPU only (HMACs with the process's one client): no I/O, no thread.
    """
    if not signed:
        return f"{settings.CDN_BASE_URL}/{object_name(key, size)}"
    ttl = settings.PRIVATE_PHOTO_URL_TTL
    url: str = _presigner().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": settings.S3_BUCKET,
            "Key": object_name(key, size),
            # Browsers may keep it while the URL is valid; shared caches not at all.
            "ResponseCacheControl": f"private, max-age={ttl}",
        },
        ExpiresIn=ttl,
    )
    return url


@functools.cache
def _presigner() -> Any:
    """One S3 client per process for presigning: making one costs ~70 ms (CPU
    and reading botocore's service model), paid once by the first private URL;
    a URL then costs ~0.2 ms. It signs for the endpoint browsers reach
    (S3_PUBLIC_ENDPOINT_URL)."""
    storage = photo_storage()
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.S3_PUBLIC_ENDPOINT_URL,
        aws_access_key_id=storage.access_key,
        aws_secret_access_key=storage.secret_key,
        region_name=settings.AWS_REGION,
        config=Config(signature_version="s3v4"),
    )


def _save(name: str, rendition: Rendition, public: bool) -> None:
    content = ContentFile(rendition.data, name=name)
    content.content_type = rendition.content_type  # type: ignore[attr-defined]
    photo_storage(public=public).save(name, content)


async def asave_renditions(key: str, renditions: Iterable[Rendition], *, public: bool) -> None:
    """Upload the renditions concurrently, public-read or private; on any
    failure, none is left behind."""
    items = [(object_name(key, r.size), r) for r in renditions]
    results = await asyncio.gather(
        *(in_thread(_save, name, r, public) for name, r in items), return_exceptions=True
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


def set_visibility(names: list[str], *, public: bool) -> None:
    """Make objects public-read (S3_OBJECT_ACL) or private; a missing object
    (deleted meanwhile) is skipped. A no-op when ACLs are off (S3_OBJECT_ACL empty)."""
    if not settings.S3_OBJECT_ACL:
        return
    acl = settings.S3_OBJECT_ACL if public else "private"
    storage = photo_storage()
    client = storage.connection.meta.client
    for name in names:
        try:
            client.put_object_acl(Bucket=storage.bucket_name, Key=name, ACL=acl)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchKey"}:
                raise


async def aset_visibility(names: list[str], *, public: bool) -> None:
    await in_thread(set_visibility, names, public=public)


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
