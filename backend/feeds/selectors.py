"""Reading a home feed page: Redis feed + pulled huge accounts, filtered, by cursor.

The page degrades rather than fails (docs/decisions/0060-reads-that-degrade.md):
with Redis down the candidates are pulled from the shards as a rebuild would
(bounded) and the photo map is skipped; with a shard server down its photos
that are not cached are left out, and the rest of the page answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend import runtime
from backend.feeds import feedstore
from backend.feeds.services import arebuild_feed, pull_feed_ids
from backend.photos import photo_map
from backend.photos.selectors import PhotoRecord, get_photos_cached_partial
from backend.shards import routing
from backend.shards.ids import shard_of
from backend.social.models import FOLLOWING, FollowStatus
from backend.social.selectors.follows import get_follow_statuses

MAX_ROUNDS = 4


@dataclass(frozen=True)
class FeedPage:
    photos: list[PhotoRecord]
    has_more: bool
    # Where the next page starts: the last photo returned or, when every entry
    # read was skipped, the last one read (so a client always moves on).
    next_before: int | None


async def _followed_among(viewer_id: int, huge: list[int]) -> list[int]:
    """Which of the huge (pulled, not fanned out) accounts the viewer follows."""
    if not huge:
        return []
    rows = await routing.aquery(
        shard_of(viewer_id),
        f'SELECT target_id FROM {{schema}}."{FOLLOWING}" '
        "WHERE user_id = %s AND target_id = ANY(%s) AND status = %s",
        [viewer_id, huge, FollowStatus.ACTIVE.value],
    )
    return [int(r["target_id"]) for r in rows]


async def _recent_of(pulled: list[int]) -> list[list[bytes]]:
    pipe = runtime.redis().pipeline(transaction=False)
    for owner in pulled:
        pipe.lrange(feedstore.recent_key(owner), 0, feedstore.RECENT_MAX - 1)
    return list(await pipe.execute())


async def _candidates(
    viewer_id: int, before: int | None, count: int, pulled: list[int] | None
) -> tuple[list[int], bool, list[int]]:
    """Up to `count` photo IDs older than `before`, newest first; True if more may
    follow; and the pulled accounts the viewer follows (found on the first call,
    `pulled=None`, in the same round trip as the feed read)."""
    client = runtime.redis()
    key = feedstore.feed_key(viewer_id)
    top = b"(" + feedstore.pack(before) if before is not None else b"+"
    bottom = b"(" + feedstore.BUILDING
    pipe = client.pipeline(transaction=False)
    pipe.zscore(key, feedstore.COMPLETE)
    pipe.zrevrangebylex(key, top, bottom, start=0, num=count)
    if pulled is None:
        pipe.smembers(feedstore.HUGE_ACCOUNTS)
    else:
        for owner in pulled:
            pipe.lrange(feedstore.recent_key(owner), 0, feedstore.RECENT_MAX - 1)
    complete, pushed, *rest = await pipe.execute()
    if pulled is None:
        pulled = await _followed_among(viewer_id, sorted(int(h) for h in rest[0]))
        recent = await _recent_of(pulled) if pulled else []
    else:
        recent = rest
    if complete is None:  # missing or evicted: rebuild from the shards, then read again
        await arebuild_feed(viewer_id)
        pushed = await client.zrevrangebylex(key, top, bottom, start=0, num=count)
    ids = set(feedstore.photo_ids(pushed))
    for members in recent:
        ids.update(i for i in feedstore.photo_ids(members) if before is None or i < before)
    ordered = sorted(ids, reverse=True)
    return ordered[:count], len(pushed) == count or len(ordered) > count, pulled


async def _visible(viewer_id: int, ids: list[int]) -> dict[int, PhotoRecord]:
    """The candidates the viewer may see (own photos, or photos of accounts it
    follows, actively), by ID; deleted photos are absent.

    Owners come from the photo map first, so a photo of an account the viewer
    does not follow is dropped before its row (or its cache entry) is read.
    The map only narrows the read: a photo it has no entry for (map lost, not
    yet rebuilt) is read as before and checked by its row's owner, and every
    kept photo is loaded, so a deleted one is still skipped.
    """
    try:
        mapped = await photo_map.aget_owners(ids)
    except runtime.REDIS_UNAVAILABLE:
        mapped = {}  # the map only narrows the read: every photo is checked by its row
    asked = set(mapped.values()) - {viewer_id}
    statuses = await get_follow_statuses(viewer_id=viewer_id, target_ids=asked)

    def shown(owner_id: int) -> bool:
        return owner_id == viewer_id or statuses.get(owner_id) == FollowStatus.ACTIVE

    wanted = [i for i in ids if i not in mapped or shown(mapped[i])]
    # Photos on a server that is down, and not cached, are left out of the page.
    found, _ = await get_photos_cached_partial(wanted) if wanted else ({}, {})
    unknown = {p.owner_id for i, p in found.items() if i not in mapped} - asked - {viewer_id}
    if unknown:
        statuses.update(await get_follow_statuses(viewer_id=viewer_id, target_ids=unknown))
    return {i: p for i, p in found.items() if shown(p.owner_id)}


async def get_feed_page(*, viewer_id: int, before: int | None, limit: int) -> FeedPage:
    """The viewer's feed, newest first, older than `before` (a photo ID).

    Entries are checked as they are read: deleted photos and photos of
    accounts the viewer no longer follows are skipped (the feed is cleaned
    lazily), and more is read until the page is full or the feed ends.
    """
    pulled: list[int] | None = None
    photos: list[PhotoRecord] = []
    cursor = before
    more = True
    for _ in range(MAX_ROUNDS):
        want = (limit + 1 - len(photos)) * 2
        try:
            ids, more, pulled = await _candidates(viewer_id, cursor, want, pulled)
        except runtime.REDIS_UNAVAILABLE:
            ids = await pull_feed_ids(viewer_id, before=cursor, count=want)
            more = len(ids) == want
        if not ids:
            more = False
            break
        cursor = ids[-1]
        visible = await _visible(viewer_id, ids)
        photos.extend(visible[i] for i in ids if i in visible)
        if len(photos) > limit or not more:
            break
    page = photos[:limit]
    return FeedPage(
        photos=page,
        has_more=len(photos) > limit or more,
        next_before=page[-1].id if page else cursor,
    )
