"""Redis keys of the push pipeline, in one place with their lifetimes."""

from __future__ import annotations

# A scheduled push stays cancellable this long; a job older than that finds
# no marker and is dropped (a push an hour late is noise, not news).
PENDING_TTL_SECONDS = 3600
# The badge count is forgotten after a month without pushes or a reset.
BADGE_TTL_SECONDS = 30 * 24 * 3600


def pending_key(kind: str, recipient_id: int, actor_id: int, photo_id: int | None) -> str:
    """Holds the nonce of the one push of this event that may still go out."""
    return f"push:pending:{kind}:{recipient_id}:{actor_id}:{photo_id or 0}"


def dedup_key(kind: str, recipient_id: int, actor_id: int, photo_id: int | None) -> str:
    """Set when a push went out; blocks the next one of the same subject for a window.

    The subject is the photo for photo events (rapid likes by many people make
    one push) and the actor for follow events (follow, unfollow, follow: one).
    """
    subject = f"p{photo_id}" if photo_id is not None else f"u{actor_id}"
    return f"push:sent:{kind}:{recipient_id}:{subject}"


def badge_key(recipient_id: int) -> str:
    return f"push:badge:{recipient_id}"
