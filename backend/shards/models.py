"""The logical→physical shard map, kept in the directory database."""

from __future__ import annotations

from django.db import models


class ShardPlacement(models.Model):
    """Logical shard `logical` (schema shard_NNNN) lives on physical `server`."""

    logical = models.PositiveSmallIntegerField(primary_key=True)
    server = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["logical"]

    def __str__(self) -> str:
        return f"shard_{self.logical:04d}@{self.server}"


class ShardMapVersion(models.Model):
    """One row; bumped in the same transaction as any placement change."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"v{self.version}"
