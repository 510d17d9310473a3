"""Whether an account's photo objects are public-read: they follow its privacy.

Public accounts' objects are public-read (stable, cacheable CDN URLs); private
accounts' are private (presigned URLs). When `isPrivate` flips, the profile
update changes which URL is issued at once (turning private also clears
`photos_public`); this job then changes every object's ACL and, turning
public, sets `photos_public` so unsigned URLs are issued again. Until it has,
a public account's URLs stay presigned: they work meanwhile, unsigned ones
would not. See docs/decisions/0012-private-photos.md.

The job is idempotent and reads the flag itself, so jobs for one account may
run in any order or side by side: each pass applies the flag as it is, and a
pass that ends with the flag changed meanwhile runs again.
"""

from __future__ import annotations

import asyncio
import logging

from backend.accounts.cache import ainvalidate_users
from backend.accounts.models import PROFILE
from backend.photos.models import PHOTO
from backend.photos.storage import aset_visibility, object_names
from backend.shards import routing
from backend.shards.ids import shard_of

log = logging.getLogger(__name__)

PAGE = 200  # photos per read; their objects are updated by CONCURRENCY threads
CONCURRENCY = 8
MAX_PASSES = 10


async def _is_private(owner_id: int) -> bool | None:
    rows = await routing.aquery(
        shard_of(owner_id),
        f'SELECT is_private FROM {{schema}}."{PROFILE}" WHERE user_id = %s',
        [owner_id],
    )
    return bool(rows[0]["is_private"]) if rows else None


async def _apply(owner_id: int, *, public: bool) -> int:
    """Set the ACL of every object of the owner's photos; returns the photo count."""
    after, done = 0, 0
    while True:
        rows = await routing.aquery(
            shard_of(owner_id),
            f'SELECT id, key FROM {{schema}}."{PHOTO}" '
            "WHERE owner_id = %s AND id > %s ORDER BY id LIMIT %s",
            [owner_id, after, PAGE],
        )
        if not rows:
            return done
        names = [name for row in rows for name in object_names(str(row["key"]))]
        step = -(-len(names) // CONCURRENCY)
        await asyncio.gather(
            *(
                aset_visibility(names[i : i + step], public=public)
                for i in range(0, len(names), step)
            )
        )
        after, done = int(rows[-1]["id"]), done + len(rows)


async def do_sync_photo_visibility(*, owner_id: int) -> None:
    """Make the owner's photo objects match the account's privacy, then record
    it (`photos_public`) if the flag did not change meanwhile."""
    for _ in range(MAX_PASSES):
        is_private = await _is_private(owner_id)
        if is_private is None:
            return  # the account is gone
        count = await _apply(owner_id, public=not is_private)
        # Only if the flag is still what this pass applied.
        rows = await routing.aquery(
            shard_of(owner_id),
            f'UPDATE {{schema}}."{PROFILE}" SET photos_public = %s '
            "WHERE user_id = %s AND is_private = %s RETURNING user_id",
            [not is_private, owner_id, is_private],
        )
        if rows:
            await ainvalidate_users([owner_id])
            log.info(
                "photos of %s are %s (%d)", owner_id, "private" if is_private else "public", count
            )
            return
    raise RuntimeError(f"the privacy of {owner_id} kept changing; retry later")
