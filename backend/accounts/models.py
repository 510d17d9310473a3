"""Accounts (directory database) and profiles (the user's logical shard)."""

from __future__ import annotations

from django.contrib.postgres.functions import RandomUUID
from django.db import models
from django.db.models.functions import Lower, Now

from backend.shards.registry import sharded, sharded_formerly
from backend.shards.sql_expressions import NextId

# Profile was social.Profile until accounts became their own app; the old
# migrations that create its table must still run on the shards.
sharded_formerly("social.profile")


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
        db_table = "social_account"  # its name from before the move (0001_move)
        constraints = [
            models.UniqueConstraint(Lower("username"), name="account_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.username


class AuthToken(models.Model):
    """A session: a bearer token, stored as its SHA-256; deleting the row revokes it.

    A token not used for TOKEN_TTL seconds is refused; each use slides that
    window (`last_used_at`, written at most every few minutes: see
    backend/accounts/selectors.py). Devices registered for pushes
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

    class Meta:
        db_table = "social_authtoken"

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

    class Meta:
        db_table = "social_profile"

    def __str__(self) -> str:
        return str(self.user_id)


class SearchTerm(models.Model):
    """What searchUsers matches, in the directory (docs/decisions/0041-user-search.md).

    One row per username (kind USERNAME), full name (FULL_NAME) and each later
    word of the full name onwards (NAME_WORD: "ronald tolkien", "tolkien"), in
    search form (backend/accounts/search.py). The username's row is written with
    the account; the name's rows follow profile edits through the outbox
    (PROFILE_NAME_CHANGED). `term` sorts bytewise (collation "C"), so a prefix is
    one range scan of (kind, term).
    """

    USERNAME, FULL_NAME, NAME_WORD = 0, 1, 2

    pk = models.CompositePrimaryKey("user_id", "kind", "term")
    user_id = models.BigIntegerField()
    kind = models.SmallIntegerField()
    term = models.CharField(max_length=64, db_collation="C")

    class Meta:
        db_table = "accounts_searchterm"
        # Covers every column a search reads: an index-only scan.
        indexes = [models.Index(fields=["kind", "term", "user_id"], name="searchterm_prefix")]

    def __str__(self) -> str:
        return f"{self.term} -> {self.user_id}"


# Table names, for the SQL the services and selectors write.
ACCOUNT = Account._meta.db_table
TOKEN = AuthToken._meta.db_table
PROFILE = Profile._meta.db_table
SEARCH_TERM = SearchTerm._meta.db_table
