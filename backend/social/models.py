"""Accounts (directory database) and profiles (the user's logical shard)."""

from __future__ import annotations

from django.contrib.postgres.functions import RandomUUID
from django.db import models
from django.db.models.functions import Lower, Now

from backend.shards.registry import sharded
from backend.shards.sql_expressions import NextId


class Account(models.Model):
    """Sign-in identity: username → user ID. Lives in the directory database.

    `id` is the user ID, minted by next_id() on the user's logical shard when
    the profile row is created there, so the ID names the user's shard.
    """

    id = models.BigIntegerField(primary_key=True)
    username = models.CharField(max_length=30)
    email = models.EmailField(blank=True, default="")
    password = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="account_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.username


class AuthToken(models.Model):
    """A session: a bearer token, stored as its SHA-256; deleting the row revokes it.

    A token not used for TOKEN_TTL seconds is refused; each use slides that
    window (`last_used_at`, written at most every few minutes: see
    backend/social/selectors/accounts.py). Devices registered for pushes
    through a session go when it does (DeviceToken.auth_token).
    """

    key_hash = models.CharField(max_length=64, primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tokens")
    # The session's public name (viewer.sessions): random, and neither the
    # token nor its hash, so showing it gives nothing away.
    session_id = models.UUIDField(unique=True, db_default=RandomUUID())
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(db_default=Now())
    # The User-Agent of the sign-in that created the session, cut to 200
    # characters; empty when it sent none.
    device = models.CharField(max_length=200, blank=True, db_default="")

    def __str__(self) -> str:
        return f"token of {self.account_id}"


@sharded
class Profile(models.Model):
    """Public profile of a user, on the user's logical shard."""

    user_id = models.BigIntegerField(primary_key=True, db_default=NextId())
    full_name = models.CharField(max_length=64, default="")
    bio = models.CharField(max_length=300, default="")
    is_private = models.BooleanField(default=False)
    # True once every photo object of this account is public-read, so a plain
    # (unsigned) URL works: cleared with is_private's change to true, set by
    # the visibility job after a change to false (backend/photos/visibility.py).
    photos_public = models.BooleanField(db_default=True)
    # Exact counters, changed in the same transaction as the rows they count
    # (photos, Follower and Following edges all live on this user's shard).
    photo_count = models.IntegerField(db_default=0)
    follower_count = models.IntegerField(db_default=0)
    following_count = models.IntegerField(db_default=0)
    created_at = models.DateTimeField(db_default=models.functions.Now())

    def __str__(self) -> str:
        return str(self.user_id)


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
    created_at = models.DateTimeField(db_default=models.functions.Now())

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
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        indexes = [models.Index(fields=["user_id", "status", "-id"], name="follower_newest")]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.user_id} ({self.status})"


@sharded
class Like(models.Model):
    """A like, on the photo's shard (so count and viewerHasLiked are one read)."""

    pk = models.CompositePrimaryKey("photo_id", "user_id")
    photo_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    created_at = models.DateTimeField(db_default=models.functions.Now())

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.photo_id}"


@sharded
class Comment(models.Model):
    """A comment, on the photo's shard; its ID is minted there too."""

    id = models.BigIntegerField(primary_key=True, db_default=NextId())
    photo_id = models.BigIntegerField()
    author_id = models.BigIntegerField()
    text = models.CharField(max_length=1000)
    created_at = models.DateTimeField(db_default=models.functions.Now())

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
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        indexes = [
            models.Index(fields=["user_id", "-id"], name="activity_newest"),
            models.Index(
                fields=["user_id", "kind", "actor_id", "photo_id"], name="activity_lookup"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"
