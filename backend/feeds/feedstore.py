"""Home feeds in Redis: what is stored, under which keys, and the scripts that write it.

A feed is a sorted set of photo IDs packed as 8-byte big-endian strings, all
with score 0: Redis then orders members by their bytes, which for big-endian
unsigned integers is numeric order, i.e. time order (our IDs are time-sorted).
Paging is ZREVRANGEBYLEX from a cursor, exact for 64-bit IDs (a float score
would round them). Each feed holds at most FEED_MAX_ITEMS photos.

Member b"\\0"*8 (ID 0) marks a feed as complete: it is written when a feed is
(re)built from the shards. A feed without it is missing (new user, Redis lost
or evicted it) and the reader rebuilds it. Fan-out writes only into feeds
that exist, so inactive users cost no memory; a rebuild first creates the key
with the BUILDING marker (ID 1), so photos fanned out while it reads the
shards are kept.

Accounts with more followers than FEED_PULL_THRESHOLD are not fanned out:
their recent photo IDs live in one short list per account (`recent:<id>`)
and readers merge them in (hybrid push/pull).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from django.conf import settings

COMPLETE = struct.pack(">Q", 0)
BUILDING = struct.pack(">Q", 1)
HUGE_ACCOUNTS = "feed:huge"
RECENT_MAX = 100

# Trims the feed at KEYS[i] to `cap` photos, leaving the markers (which sort first).
_TRIM = """
local function trim(key, cap)
  local n = redis.call('ZCARD', key)
  local markers = 0
  if redis.call('ZSCORE', key, MARKER_COMPLETE) then markers = markers + 1 end
  if redis.call('ZSCORE', key, MARKER_BUILDING) then markers = markers + 1 end
  local excess = n - markers - cap
  if excess > 0 then
    redis.call('ZREMRANGEBYRANK', key, markers, markers + excess - 1)
  end
end
"""

# KEYS: feeds. ARGV: packed photo ID, cap. Adds to every existing feed; trims a
# feed once it is 10% over its cap, so trimming is rare.
_DELIVER = """
local member, cap = ARGV[1], tonumber(ARGV[2])
local limit = cap + math.floor(cap / 10) + 2
local delivered = 0
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    delivered = delivered + redis.call('ZADD', key, 0, member)
    if redis.call('ZCARD', key) > limit then trim(key, cap) end
  end
end
return delivered
"""

# KEYS: one feed. ARGV: cap, then packed photo IDs. Completes a rebuild: adds
# what the shards gave to whatever was delivered meanwhile, marks it complete.
_COMPLETE_BUILD = """
local key, cap = KEYS[1], tonumber(ARGV[1])
for i = 2, #ARGV, 500 do
  local args = {}
  for j = i, math.min(i + 499, #ARGV) do
    args[#args + 1] = 0
    args[#args + 1] = ARGV[j]
  end
  redis.call('ZADD', key, unpack(args))
end
redis.call('ZADD', key, 0, MARKER_COMPLETE)
redis.call('ZREM', key, MARKER_BUILDING)
trim(key, cap)
return redis.call('ZCARD', key)
"""


def with_trim(script: str) -> str:
    """`script` with the marker constants and the trim() function defined."""

    def literal(value: bytes) -> str:
        return '"' + "".join(f"\\{b}" for b in value) + '"'

    return (
        f"local MARKER_COMPLETE = {literal(COMPLETE)}\n"
        f"local MARKER_BUILDING = {literal(BUILDING)}\n" + _TRIM + script
    )


DELIVER = with_trim(_DELIVER)
COMPLETE_BUILD = with_trim(_COMPLETE_BUILD)


def pack(photo_id: int) -> bytes:
    return struct.pack(">Q", photo_id)


def unpack(member: bytes) -> int:
    value: int = struct.unpack(">Q", member)[0]
    return value


def feed_key(user_id: int) -> str:
    return f"feed:{user_id}"


def recent_key(owner_id: int) -> str:
    return f"recent:{owner_id}"


def cap() -> int:
    return int(settings.FEED_MAX_ITEMS)


def photo_ids(members: Iterable[bytes]) -> list[int]:
    """Photo IDs of feed members, markers left out."""
    return [unpack(m) for m in members if m not in (COMPLETE, BUILDING)]
