"""The owner of a photo a write (like, comment) may touch: the privacy policy
first, with the owner learnt from the photo map where it can be."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from backend.accounts.selectors import get_users_cached
from backend.errors import NotFound
from backend.photos import photo_map
from backend.photos.selectors import get_photos_by_ids
from backend.social.policy import Viewer, check_can_view

log = logging.getLogger(__name__)


async def access_photo_owner(*, viewer_id: int | None, photo_id: int) -> int:
    """The owner of a photo the viewer may see (FORBIDDEN otherwise), for a write
    that changes the photo's row in its own transaction.

    The owner comes from the photo map, so the row is not read here; it is read
    only when the map has no entry (NOT_FOUND when there is no row either). A
    photo deleted while the map still names it (the rebuild's known gap) is
    found by the caller's transaction, whose counter update raises NOT_FOUND.
    """
    try:
        owner_id = await photo_map.aget_owner(photo_id)
    except RedisError:  # the map only saves a read: without Redis a like still works
        log.warning("photo map lookup failed; reading the photo row", exc_info=True)
        owner_id = None
    if owner_id is None:
        photo = (await get_photos_by_ids([photo_id])).get(photo_id)
        if photo is None:
            raise NotFound("no such photo")
        owner_id = photo.owner_id
    owner = (await get_users_cached([owner_id])).get(owner_id)
    if owner is None:
        raise NotFound("no such photo")
    await check_can_view(Viewer.of(viewer_id), owner)
    return owner_id
