"""Around a social change: its repair job before it, and after it commits,
pushes, feeds and cache invalidation.

The `after_*` functions run once the change's transactions have committed
(the services call them after `routing.awrite` returned), never inside them.
A failing side effect is logged (and reported to Sentry) but does not fail
the change the user already made.
"""

from __future__ import annotations

from collections.abc import Callable

from backend.aftercommit import after_commit
from backend.photos.cache import ainvalidate_photos
from backend.photos.selectors import PhotoRecord
from backend.queue import enqueue
from backend.social import feeds
from backend.social.cache import ainvalidate_users
from backend.social.services.edges import EdgeChange, Status, change_edge

# A reconcile job runs this long after every edge change, to repair the one
# half-written state a crash between two commits can leave (see edges.py).
RECONCILE_DELAY_MS = 30_000


async def guarded_edge_change(
    follower_id: int, target_id: int, decide: Callable[[Status], Status]
) -> EdgeChange:
    """change_edge, with its repair job queued before it starts."""
    from backend.social.tasks import reconcile_follow

    await after_commit(
        enqueue(reconcile_follow.message(follower_id, target_id), delay=RECONCILE_DELAY_MS),
        "queueing the follow reconcile job",
    )
    return await change_edge(follower_id, target_id, decide)


async def after_edge_change(change: EdgeChange, *, push: bool = True) -> None:
    """`push`: tell the target (a new follower, a new request); off for approvals."""
    from backend.notifications.services import PushKind, ado_notify

    await after_commit(
        ainvalidate_users([change.follower_id, change.target_id]), "user cache invalidation"
    )
    if not push:
        kind = None
    elif change.became_active:
        kind = PushKind.FOLLOW
    elif change.new == "pending" and change.old is None:
        kind = PushKind.FOLLOW_REQUEST
    else:
        kind = None
    if kind is not None:
        await after_commit(
            ado_notify(kind=kind, recipient_id=change.target_id, actor_id=change.follower_id),
            "push notification",
        )
    await after_commit(feeds.aon_follow_changed(change), "feed backfill")


async def after_like(photo: PhotoRecord, *, actor_id: int, liked: bool) -> None:
    from backend.notifications.services import PushKind, ado_cancel_notification, ado_notify

    await after_commit(ainvalidate_photos([photo.id]), "photo cache invalidation")
    if photo.owner_id == actor_id:
        return
    if liked:
        push = ado_notify(
            kind=PushKind.LIKE, recipient_id=photo.owner_id, actor_id=actor_id, photo_id=photo.id
        )
    else:  # a like taken back before its push went out must not be pushed
        push = ado_cancel_notification(
            kind=PushKind.LIKE, recipient_id=photo.owner_id, actor_id=actor_id, photo_id=photo.id
        )
    await after_commit(push, "push notification")


async def after_comment(photo: PhotoRecord, *, actor_id: int, added: bool) -> None:
    from backend.notifications.services import PushKind, ado_notify

    await after_commit(ainvalidate_photos([photo.id]), "photo cache invalidation")
    if added and photo.owner_id != actor_id:
        await after_commit(
            ado_notify(
                kind=PushKind.COMMENT,
                recipient_id=photo.owner_id,
                actor_id=actor_id,
                photo_id=photo.id,
            ),
            "push notification",
        )
