"""Events the accounts domain publishes (backend/shards/outbox.py)."""

from __future__ import annotations

# A profile turned private or public: {user_id, is_private}.
PRIVACY_CHANGED = "profile.privacy_changed"
