"""Device tokens and per-follow opt-ins for post notifications (directory database)."""

from __future__ import annotations

from django.db import models

from backend.accounts.models import Account, AuthToken


class DeviceToken(models.Model):
    """An APNs device token of one of a user's devices.

    A token belongs to one device, so it is unique across users: registering
    it for another account moves it there (see services.ado_register_device).
    """

    token = models.CharField(max_length=200, primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="devices")
    # The session (bearer token) the device was registered through: logging
    # that session out unregisters the device. The database deletes the row
    # with the token (ON DELETE CASCADE, added in migration 0002, since
    # Django 5.2 cannot declare it), so every revocation, whichever domain
    # runs it, takes its devices along in the same statement. Null for
    # devices registered before sessions were recorded.
    auth_token = models.ForeignKey(
        AuthToken,
        on_delete=models.CASCADE,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    # When the token was (re)registered: an APNs 410 older than this does not
    # remove it, because the app registered it again after Apple's verdict.
    registered_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"device of {self.account_id}"


class PostNotificationOptIn(models.Model):
    """`account` wants a push when `followed_id` posts a photo."""

    pk = models.CompositePrimaryKey("followed_id", "account")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    followed_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.account_id} -> posts of {self.followed_id}"


# Table names, for the SQL the services and selectors write.
DEVICE = DeviceToken._meta.db_table
OPT_IN = PostNotificationOptIn._meta.db_table
