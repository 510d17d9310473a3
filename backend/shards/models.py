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


class ServerEndpoint(models.Model):
    """Where a physical server's primary and hot standby are now (direct URLs,
    not PgBouncer's). Filled from the settings the first time; a failover swaps
    them and bumps ShardMapVersion in the same transaction, so every process
    sees the new primary with its next map check
    (docs/decisions/0064-failover.md)."""

    server = models.CharField(max_length=64, primary_key=True)
    primary = models.TextField()
    standby = models.TextField(blank=True, default="")
    generation = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.server} g{self.generation}"
