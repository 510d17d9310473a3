"""Accounts (directory database) and profiles (the user's logical shard)."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

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
    """A bearer token, stored as its SHA-256; deleting the row revokes it."""

    key_hash = models.CharField(max_length=64, primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tokens")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"token of {self.account_id}"


@sharded
class Profile(models.Model):
    """Public profile of a user, on the user's logical shard."""

    user_id = models.BigIntegerField(primary_key=True, db_default=NextId())
    full_name = models.CharField(max_length=64, default="")
    bio = models.CharField(max_length=300, default="")
    is_private = models.BooleanField(default=False)
    created_at = models.DateTimeField(db_default=models.functions.Now())

    def __str__(self) -> str:
        return str(self.user_id)
