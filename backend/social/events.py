"""Events the social domain publishes (backend/shards/outbox.py).

Each is recorded on the shard of the row it reports: likes and comments on
the photo's shard, follows on the follower's (the edge's source of truth).
"""

from __future__ import annotations

# {photo_id, owner_id, actor_id}
LIKED = "like.added"
UNLIKED = "like.removed"
# {comment_id, photo_id, owner_id, actor_id}
COMMENTED = "comment.added"
COMMENT_DELETED = "comment.deleted"
# {follower_id, target_id, old, new, push}: old/new are None, "pending" or
# "active"; push is False when the change must not notify (an approval).
FOLLOW_CHANGED = "follow.changed"
