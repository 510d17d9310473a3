"""`make test`: the throw-away test stack (scripts/profile.sh, profile `test`)."""

from backend.settings.base import *  # noqa: F403

# Hashing cost is not under test; keep sign-ups fast.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
