"""Follows, likes, comments and activity, each on the logical shard that reads it."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now

from backend.shards.registry import sharded
from backend.shards.sql_expressions import NextId


class FollowStatus(models.TextChoices):
    ACTIVE = "active"
    PENDING = "pending"  # a request to follow a private account, not yet approved


@sharded
class Following(models.Model):
    """ "user_id follows target_id": the edge on the follower's shard.

    This side is the source of truth; `Follower` mirrors it on the target's
    shard (see backend/social/services/edges.py for how the two are kept equal).
    `id` orders the list newest first and is the pagination cursor.
    """

    pk = models.CompositePrimaryKey("user_id", "target_id")
    user_id = models.BigIntegerField()
    target_id = models.BigIntegerField()
    id = models.BigIntegerField(db_default=NextId(), unique=True)
    status = models.CharField(max_length=8, choices=FollowStatus.choices)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [models.Index(fields=["user_id", "status", "-id"], name="following_newest")]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.target_id} ({self.status})"


@sharded
class Follower(models.Model):
    """ "follower_id follows user_id": the mirror edge on the followed user's shard."""

    pk = models.CompositePrimaryKey("user_id", "follower_id")
    user_id = models.BigIntegerField()
    follower_id = models.BigIntegerField()
    id = models.BigIntegerField(db_default=NextId(), unique=True)
    status = models.CharField(max_length=8, choices=FollowStatus.choices)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [models.Index(fields=["user_id", "status", "-id"], name="follower_newest")]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.user_id} ({self.status})"


@sharded
class Like(models.Model):
    """A like, on the photo's shard (so count and viewerHasLiked are one read).

    `id` orders a photo's likers newest first and is their page cursor.
    """

    pk = models.CompositePrimaryKey("photo_id", "user_id")
    photo_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    id = models.BigIntegerField(db_default=NextId(), unique=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [models.Index(fields=["photo_id", "-id"], name="like_photo_newest")]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.photo_id}"


@sharded
class Comment(models.Model):
    """A comment, on the photo's shard; its ID is minted there too."""

    id = models.BigIntegerField(primary_key=True, db_default=NextId())
    photo_id = models.BigIntegerField()
    author_id = models.BigIntegerField()
    text = models.CharField(max_length=1000)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [models.Index(fields=["photo_id", "-id"], name="comment_photo_newest")]

    def __str__(self) -> str:
        return str(self.id)


class ActivityKind(models.TextChoices):
    LIKE = "LIKE"
    COMMENT = "COMMENT"
    FOLLOW = "FOLLOW"


@sharded
class Activity(models.Model):
    """Something that happened to user_id (the recipient), on the recipient's shard.

    Written in the same transaction as the like, comment or follower edge it
    reports, which all live on the recipient's shard too.
    """

    id = models.BigIntegerField(primary_key=True, db_default=NextId())
    user_id = models.BigIntegerField()
    kind = models.CharField(max_length=8, choices=ActivityKind.choices)
    actor_id = models.BigIntegerField()
    photo_id = models.BigIntegerField(null=True)
    comment_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [
            models.Index(fields=["user_id", "-id"], name="activity_newest"),
            models.Index(
                fields=["user_id", "kind", "actor_id", "photo_id"], name="activity_lookup"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"


# Table names, for the SQL the services and selectors write.
FOLLOWING = Following._meta.db_table
FOLLOWER = Follower._meta.db_table
LIKE = Like._meta.db_table
COMMENT = Comment._meta.db_table
ACTIVITY = Activity._meta.db_table
