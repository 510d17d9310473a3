"""The photo object store (django-storages S3 backend)."""

from __future__ import annotations

from botocore.exceptions import ClientError
from django.core.files.storage import storages
from storages.backends.s3 import S3Storage


def photo_storage() -> S3Storage:
    storage = storages["default"]
    assert isinstance(storage, S3Storage)
    return storage


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
