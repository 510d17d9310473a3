"""Photo metadata, on the owner's logical shard (the images live in S3)."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now

from backend.shards.registry import sharded
from backend.shards.sql_expressions import NextId

CAPTION_MAX_LENGTH = 2200


@sharded
class Photo(models.Model):
    """One uploaded photo. `id` comes from next_id() on the owner's shard.

    `key` is the random prefix of its objects in storage (`<key>/<size>.jpg`),
    so object names cannot be guessed from photo IDs. The counters are kept in
    the same transaction as the like and comment rows they count.
    """

    id = models.BigIntegerField(primary_key=True, db_default=NextId())
    owner_id = models.BigIntegerField()
    caption = models.CharField(max_length=CAPTION_MAX_LENGTH, db_default="")
    width = models.IntegerField()
    height = models.IntegerField()
    blurhash = models.CharField(max_length=64, db_default="")
    key = models.CharField(max_length=64, unique=True)
    like_count = models.IntegerField(db_default=0)
    comment_count = models.IntegerField(db_default=0)
    # The SQUARE rendition exists (photos posted before it was added have none).
    has_square = models.BooleanField(db_default=False)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [models.Index(fields=["owner_id", "-id"], name="photo_owner_newest")]

    def __str__(self) -> str:
        return str(self.id)


# Table names, for the SQL the services and selectors write.
PHOTO = Photo._meta.db_table
