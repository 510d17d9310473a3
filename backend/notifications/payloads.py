"""What a push says: localizable alert keys, badge, thread and collapse IDs.

The app holds the strings (Localizable.strings: e.g. "LIKE_NOTIFICATION" =
"%@ liked your photo."); the payload names the key and the public username,
never a caption, comment text or anything else private.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOC_KEYS = {
    "like": "LIKE_NOTIFICATION",
    "comment": "COMMENT_NOTIFICATION",
    "follow": "FOLLOW_NOTIFICATION",
    "follow_request": "FOLLOW_REQUEST_NOTIFICATION",
    "post": "POST_NOTIFICATION",
}


@dataclass(frozen=True)
class Push:
    message: dict[str, Any]
    collapse_id: str


def build_push(
    *, kind: str, actor_id: int, actor_username: str, photo_id: int | None, badge: int
) -> Push:
    aps: dict[str, Any] = {
        "alert": {"loc-key": LOC_KEYS[kind], "loc-args": [actor_username]},
        "badge": badge,
        "sound": "default",
        # Notification Center groups a photo's likes and comments together.
        "thread-id": f"photo-{photo_id}" if photo_id is not None else f"user-{actor_id}",
    }
    message: dict[str, Any] = {"aps": aps, "kind": kind, "actorId": str(actor_id)}
    if photo_id is not None:
        message["photoId"] = str(photo_id)
    # A newer push with the same collapse ID replaces the shown one: rapid
    # likes of one photo show as one notification. At most 64 bytes.
    subject = photo_id if photo_id is not None else actor_id
    return Push(message=message, collapse_id=f"{kind}-{subject}")
