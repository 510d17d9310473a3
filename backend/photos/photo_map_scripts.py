"""The photo map's record layout and its Lua scripts (see photo_map.py).

Kept apart from the Python side so each file reads on its own; the scripts
are formatted with the layout constants, so both sides always agree.
"""

from __future__ import annotations

import hashlib

PREFIX = "pm:"
ROOT_BITS = 40  # offset bits of a root window: 2**30 ms of (ms << 10 | sequence)
OFFSET_BYTES = 5
OWNER_BYTES = 7  # an owner's local number has 50 bits
RECORD_BYTES = OFFSET_BYTES + OWNER_BYTES
BUCKET_RECORDS = 512  # a bucket never holds more records than this
CHUNK = 1000  # pairs (or IDs) per script call; a pipeline carries many calls
GET_RECORD_BYTES = 9  # a lookup's argument record: 2-byte key index, 7-byte photo local

_LUA_COMMON = f"""
local W, ROOT_BITS, CAP = {RECORD_BYTES}, {ROOT_BITS}, {BUCKET_RECORDS}
local ROOT = 2 ^ ROOT_BITS
local byte, floor = string.byte, math.floor  -- locals: globals cost a table lookup

-- Numbers are doubles: every value handled here (< 2^51) is exact. Offsets
-- are compared as numbers, never as strings (Lua compares with strcoll).
local function off_at(s, i)
  local a, b, c, d, e = byte(s, i * W + 1, i * W + 5)
  return (((a * 256 + b) * 256 + c) * 256 + d) * 256 + e
end

local function owner_at(s, i)
  local a, b, c, d, e, f, g = byte(s, i * W + 6, i * W + 12)
  return (((((a * 256 + b) * 256 + c) * 256 + d) * 256 + e) * 256 + f) * 256 + g
end

local function lower(s, o)  -- index of the first record whose offset >= o
  local lo, hi = 0, #s / W
  while lo < hi do
    local mid = floor((lo + hi) / 2)
    if off_at(s, mid) < o then lo = mid + 1 else hi = mid end
  end
  return lo
end

local function enc(v, width)
  local t = {{}}
  for i = width, 1, -1 do
    t[i] = v % 256
    v = floor(v / 256)
  end
  return string.char(unpack(t))
end

local function field(r, n) return string.format('%d:%d', r, n) end

local function split_local(L)
  local r = floor(L / ROOT)
  return r, L - r * ROOT
end

-- The bucket that holds (or would hold) offset o of window r: node, bits, records.
local function find(key, r, o)
  local n, b = 1, ROOT_BITS
  while true do
    local s = redis.call('HGET', key, field(r, n))
    if s ~= '' or b == 0 then return n, b, s or '' end
    b = b - 1
    n = 2 * n + floor(o / 2 ^ b) % 2
  end
end

local function first_offset(n, b) return (n - 2 ^ (ROOT_BITS - b)) * 2 ^ b end

-- Write bucket n (b offset bits); split it while it has more than CAP records.
local function store(key, r, n, b, s)
  local count = #s / W
  if count == 0 then
    redis.call('HDEL', key, field(r, n))
  elseif count <= CAP then
    redis.call('HSET', key, field(r, n), s)
  else
    redis.call('HSET', key, field(r, n), '')
    local i = lower(s, first_offset(n, b) + 2 ^ (b - 1))
    store(key, r, 2 * n, b - 1, string.sub(s, 1, i * W))
    store(key, r, 2 * n + 1, b - 1, string.sub(s, i * W + 1))
  end
end
"""

# ARGV: (key index, photo local, owner local) triples, sorted by key then photo.
_LUA_SET = (
    _LUA_COMMON
    + """
local i, done = 1, 0
while i <= #ARGV do
  local key = KEYS[tonumber(ARGV[i])]
  local r, o = split_local(tonumber(ARGV[i + 1]))
  local n, b, s = find(key, r, o)
  local first = first_offset(n, b)
  local last = first + 2 ^ b
  local parts, pos, count, j = {}, 0, #s / W, i
  -- Merge every following pair that lands in the same bucket in one pass.
  while j <= #ARGV and ARGV[j] == ARGV[i] do
    local r2, o2 = split_local(tonumber(ARGV[j + 1]))
    if r2 ~= r or o2 < first or o2 >= last then break end
    local at = lower(s, o2)
    if at > pos then parts[#parts + 1] = string.sub(s, pos * W + 1, at * W) end
    parts[#parts + 1] = enc(o2, 5) .. enc(tonumber(ARGV[j + 2]), 7)
    pos = at
    if at < count and off_at(s, at) == o2 then pos = at + 1 end
    j = j + 3
    done = done + 1
  end
  parts[#parts + 1] = string.sub(s, pos * W + 1)
  store(key, r, n, b, table.concat(parts))
  i = j
end
return done
"""
)

# ARGV: (key index, photo local) pairs. Returns how many records were removed.
_LUA_REMOVE = (
    _LUA_COMMON
    + """
local removed = 0
for i = 1, #ARGV, 2 do
  local key = KEYS[tonumber(ARGV[i])]
  local r, o = split_local(tonumber(ARGV[i + 1]))
  local n, b, s = find(key, r, o)
  local at = lower(s, o)
  if at < #s / W and off_at(s, at) == o then
    store(key, r, n, b, string.sub(s, 1, at * W) .. string.sub(s, (at + 1) * W + 1))
    removed = removed + 1
  end
end
return removed
"""
)

# ARGV[1]: sorted GET_RECORD_BYTES records, a 2-byte key index and a 7-byte photo
# local, big-endian (one packed argument: encoding an argument per ID cost the
# client more than the lookup). Returns owner locals (nil: absent).
_LUA_GET = (
    _LUA_COMMON
    + f"""
local A, G = ARGV[1], {GET_RECORD_BYTES}
"""
    + """
local out, ck, clo, chi, cs = {}, nil, 0, 0, ''
for p = 0, #A / G - 1 do
  local k1, k2, a, b, c, d, e, f, g = byte(A, p * G + 1, p * G + G)
  local key = KEYS[k1 * 256 + k2]
  local L = (((((a * 256 + b) * 256 + c) * 256 + d) * 256 + e) * 256 + f) * 256 + g
  local r, o = split_local(L)
  local s = cs
  if key ~= ck or L < clo or L >= chi then
    local n, b
    n, b, s = find(key, r, o)
    ck, cs = key, s
    clo = r * ROOT + first_offset(n, b)
    chi = clo + 2 ^ b
  end
  local at = lower(s, o)
  if at < #s / W and off_at(s, at) == o then
    out[#out + 1] = owner_at(s, at)
  else
    out[#out + 1] = false
  end
end
return out
"""
)


class _Script:
    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(
            source.encode(), usedforsecurity=False
        ).hexdigest()  # Redis's script ID


SET_SCRIPT, REMOVE_SCRIPT, GET_SCRIPT = _Script(_LUA_SET), _Script(_LUA_REMOVE), _Script(_LUA_GET)
