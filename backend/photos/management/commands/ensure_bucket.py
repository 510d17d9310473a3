"""Create the photo bucket if it does not exist (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from backend.photos.storage import ensure_bucket


class Command(BaseCommand):
    help = "Create the S3 bucket named by S3_BUCKET when it is missing."

    def handle(self, *args: Any, **options: Any) -> None:
        created = ensure_bucket()
        self.stdout.write(("created" if created else "found") + " the photo bucket")
