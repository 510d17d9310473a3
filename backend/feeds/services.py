"""Home feeds: fan-out on write, pull for huge accounts, rebuild from the shards.

Storage layout and the Lua scripts are in feedstore.py. Writes here, driven
by the actors in tasks.py (which consume PHOTO_POSTED and FOLLOW_CHANGED):
- `ado_publish`: the owner's own feed, then either "fan out" (the caller
  queues it) or, for a huge account, its recent list for readers to pull.
- `follower_chunks`: the owner's active followers, a chunk per page, for the
  fan-out to queue one delivery each.
- `ado_deliver`: one chunk, one script call; ZADD is idempotent, so a
  retried chunk (or a second delivery of the event) adds nothing twice.
- `aon_follow_changed`: a new follow backfills the followed account's photos.
- `arebuild_feed`: a feed from the shards (followed accounts' newest photos).
Reads are in selectors.py.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from django.conf import settings

from backend import metrics, runtime
from backend.accounts.selectors import get_users_by_ids
from backend.feeds import feedstore
from backend.photos.models import PHOTO
from backend.shards import routing
from backend.shards.ids import MAX_ID, decode_id, shard_of
from backend.social.models import FOLLOWER, FOLLOWING, FollowStatus

ACTIVE = FollowStatus.ACTIVE.value

# How many of each followed account's newest photos a rebuild or backfill takes.
PER_ACCOUNT = 40
# At most this many followed accounts are read to rebuild one feed.
MAX_FOLLOWED_FOR_REBUILD = 5000

# KEYS: one feed. ARGV: cap, then packed IDs. Adds them if the feed exists.
_BACKFILL = """
local key, cap = KEYS[1], tonumber(ARGV[1])
if redis.call('EXISTS', key) == 0 then return 0 end
local added = 0
for i = 2, #ARGV do added = added + redis.call('ZADD', key, 0, ARGV[i]) end
trim(key, cap)
return added
"""
BACKFILL = feedstore.with_trim(_BACKFILL)


def is_huge(follower_count: int) -> bool:
    return follower_count >= int(settings.FEED_PULL_THRESHOLD)


async def ado_deliver(*, photo_id: int, follower_ids: Sequence[int]) -> int:
    """Add a photo to these followers' feeds (those that exist); returns how many were new.

    Metrics: the deliveries, and the lag from the photo's commit (its ID's
    time, taken in the inserting transaction) to this chunk's delivery.
    """
    if not follower_ids:
        return 0
    script = runtime.redis().register_script(feedstore.DELIVER)
    keys = [feedstore.feed_key(f) for f in follower_ids]
    delivered: int = await script(keys=keys, args=[feedstore.pack(photo_id), feedstore.cap()])
    metrics.FEED_DELIVERIES.inc(delivered)
    created = decode_id(photo_id).created_at.timestamp()
    metrics.FANOUT_LAG.observe(max(0.0, time.time() - created))
    return delivered


async def _follower_page(owner_id: int, after_edge: int, limit: int) -> list[dict[str, Any]]:
    return await routing.aquery(
        shard_of(owner_id),
        f'SELECT id, follower_id FROM {{schema}}."{FOLLOWER}" '
        "WHERE user_id = %s AND status = %s AND id > %s ORDER BY id LIMIT %s",
        [owner_id, ACTIVE, after_edge, limit],
    )


async def follower_chunks(owner_id: int) -> AsyncIterator[list[int]]:
    """The owner's active followers, FANOUT_CHUNK at a time (one page each).

    Only active (approved) followers: a private account's photos reach only
    its approved followers.
    """
    chunk = int(settings.FANOUT_CHUNK)
    after = 0
    while True:
        page = await _follower_page(owner_id, after, chunk)
        if not page:
            return
        yield [int(r["follower_id"]) for r in page]
        after = int(page[-1]["id"])


async def _abackfill(user_id: int, photo_ids: Sequence[int]) -> None:
    """Add photos to one user's feed, if that feed exists (BACKFILL)."""
    script = runtime.redis().register_script(BACKFILL)
    await script(
        keys=[feedstore.feed_key(user_id)],
        args=[feedstore.cap(), *(feedstore.pack(i) for i in photo_ids)],
    )


async def ado_publish(*, photo_id: int, owner_id: int, follower_count: int | None = None) -> bool:
    """Make a new photo reach feeds: the owner's own at once; returns True when
    the caller must fan it out to the followers. A huge account's photo goes
    to its recent list instead, which readers merge in, so all its followers
    see it at once. `follower_count`: the owner's as the upload saw it (the
    event carries it); read from the profile when not given."""
    await _abackfill(owner_id, [photo_id])
    if follower_count is None:
        [owner] = await get_users_by_ids([owner_id])
        if owner is None:
            return False  # the account is gone
        follower_count = owner.follower_count
    if not is_huge(follower_count):
        # An account that was huge once stays in HUGE_ACCOUNTS: its recent list
        # holds photos that were never fanned out, and readers must keep pulling it.
        return True
    client = runtime.redis()
    pipe = client.pipeline(transaction=False)
    pipe.sadd(feedstore.HUGE_ACCOUNTS, owner_id)
    # LREM first: a second delivery of the event must not list the photo twice.
    pipe.lrem(feedstore.recent_key(owner_id), 0, feedstore.pack(photo_id))  # type: ignore[arg-type]
    pipe.lpush(feedstore.recent_key(owner_id), feedstore.pack(photo_id))
    pipe.ltrim(feedstore.recent_key(owner_id), 0, feedstore.RECENT_MAX - 1)
    await pipe.execute()
    return False


async def _recent_photo_ids(owner_ids: Sequence[int], per_owner: int) -> list[int]:
    """The newest photo IDs of each owner: one statement per physical server."""
    rows = (await _recent_rows(owner_ids, per_owner, None)).raise_if_incomplete()
    return [int(r["id"]) for r in rows]


async def _recent_rows(
    owner_ids: Sequence[int], per_owner: int, before: int | None
) -> routing.Partial:
    def select(schema: str, owners: list[int]) -> tuple[str, list[Any]]:
        return (
            f"SELECT p.id FROM unnest(%s::bigint[]) AS o(id) CROSS JOIN LATERAL "
            f'(SELECT id FROM {schema}."{PHOTO}" WHERE owner_id = o.id AND id < %s '
            "ORDER BY id DESC LIMIT %s) p",
            [owners, before if before is not None else MAX_ID, per_owner],
        )

    return await routing.afetch_by_shard_partial(owner_ids, select)


async def pull_feed_ids(user_id: int, *, before: int | None, count: int) -> list[int]:
    """The feed as a rebuild would make it, read straight from the shards and
    kept nowhere: for when Redis is down. Bounded like the rebuild (the
    newest MAX_FOLLOWED_FOR_REBUILD follows); owners on a server that is down
    are left out. Newest first, older than `before`."""
    owners = [user_id, *await get_followed_ids(user_id)]
    part = await _recent_rows(owners, min(count, PER_ACCOUNT), before)
    return heapq.nlargest(count, (int(r["id"]) for r in part.rows))


async def aon_follow_changed(*, follower_id: int, target_id: int, new: str | None) -> None:
    """A follow that became active backfills the account's recent photos into
    the follower's feed (idempotent: ZADD).

    An unfollow needs nothing here: readers drop photos of accounts the viewer
    no longer follows, and they age out of the capped feed.
    """
    if new != ACTIVE:
        return
    ids = await _recent_photo_ids([target_id], PER_ACCOUNT)
    if not ids:
        return
    await _abackfill(follower_id, ids)


async def get_followed_ids(user_id: int, *, limit: int = MAX_FOLLOWED_FOR_REBUILD) -> list[int]:
    rows = await routing.aquery(
        shard_of(user_id),
        f'SELECT target_id FROM {{schema}}."{FOLLOWING}" WHERE user_id = %s AND status = %s '
        "ORDER BY id DESC LIMIT %s",
        [user_id, ACTIVE, limit],
    )
    return [int(r["target_id"]) for r in rows]


async def arebuild_feed(user_id: int) -> int:
    """Rebuild one feed from the shards; returns its size (markers included)."""
    client = runtime.redis()
    key = feedstore.feed_key(user_id)
    # Exists from now on, so fan-out deliveries during the rebuild are kept.
    await client.zadd(key, {feedstore.BUILDING: 0})
    owners = [user_id, *await get_followed_ids(user_id)]
    ids = await _recent_photo_ids(owners, PER_ACCOUNT)
    newest = heapq.nlargest(feedstore.cap(), ids)
    script = client.register_script(feedstore.COMPLETE_BUILD)
    size: int = await script(
        keys=[key], args=[feedstore.cap(), *(feedstore.pack(i) for i in newest)]
    )
    return size
