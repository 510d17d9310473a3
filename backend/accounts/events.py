"""Events the accounts domain publishes (backend/shards/outbox.py)."""

from __future__ import annotations

# A profile turned private or public: {user_id, is_private}.
PRIVACY_CHANGED = "profile.privacy_changed"
# A profile's full name changed: {user_id}. Consumers read the name itself
# (the event may arrive late or twice).
PROFILE_NAME_CHANGED = "profile.name_changed"
