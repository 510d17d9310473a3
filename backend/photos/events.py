"""Events the photos domain publishes (backend/shards/outbox.py).

Payloads are JSON objects of IDs (as numbers) and the few facts a consumer
cannot read back once the row is gone.
"""

from __future__ import annotations

# A photo was posted: {photo_id, owner_id}.
PHOTO_POSTED = "photo.posted"
# A photo was deleted, with its row: {photo_id, owner_id, key}.
PHOTO_DELETED = "photo.deleted"
