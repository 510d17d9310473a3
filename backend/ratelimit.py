"""Rate limits: token buckets in Redis, several checked in one round trip.

A bucket holds up to `capacity` tokens and refills at capacity/period per
second; a request takes `cost` tokens from each bucket it names, all or none.
When one bucket has too few, nothing is taken and the answer says how long
until it would have enough (`retry_after`). The clock is Redis's own (TIME),
so every app server agrees. A bucket at rest is deleted when it would be full.

Redis being down must not take the API down with it: the check then allows
the request and logs a warning (the limits are a guard, not a correctness
rule).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from backend import metrics, runtime

log = logging.getLogger(__name__)

PREFIX = "rl:"

# KEYS: the buckets. ARGV: per key (capacity, period_ms, need, take): `need`
# tokens must be there, `take` are taken. Returns {0, 0, 0} when taken, or
# {1, ms until it would fit, index of the bucket that waits longest}.
TAKE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local levels = {}
local wait, worst = 0, 0
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[4 * i - 3])
  local rate = capacity / tonumber(ARGV[4 * i - 2])
  local need = tonumber(ARGV[4 * i - 1])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1]) or capacity
  local ts = tonumber(state[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
  levels[i] = tokens
  if need > tokens then
    local w = math.ceil((need - tokens) / rate)
    if w > wait then wait, worst = w, i end
  end
end
if wait > 0 then return {1, wait, worst} end
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[4 * i - 3])
  local period = tonumber(ARGV[4 * i - 2])
  local take = tonumber(ARGV[4 * i])
  if take > 0 then
    local left = levels[i] - take
    redis.call('HSET', key, 'tokens', tostring(left), 'ts', now)
    redis.call('PEXPIRE', key, math.ceil((capacity - left) * period / capacity) + 1000)
  end
end
return {0, 0, 0}
"""


@dataclass(frozen=True)
class Limit:
    """`capacity` tokens, refilled evenly over `period` seconds."""

    name: str
    capacity: int
    period: float

    @classmethod
    def parse(cls, name: str, spec: str) -> Limit:
        """'N/SECONDS', e.g. '120/60' for 120 a minute."""
        count, _, seconds = spec.partition("/")
        try:
            limit = cls(name, int(count), float(seconds))
        except ValueError:
            raise ValueError(f"rate limit {name}: {spec!r} is not N/SECONDS") from None
        if limit.capacity < 1 or limit.period <= 0:
            raise ValueError(f"rate limit {name}: {spec!r} must be positive")
        return limit


@dataclass(frozen=True)
class Take:
    limit: Limit
    subject: str  # whose bucket: "user:42", "ip:203.0.113.9", "name:alice"
    cost: int = 1

    @property
    def key(self) -> str:
        return f"{PREFIX}{self.limit.name}:{self.subject}"


@dataclass(frozen=True)
class Refusal:
    limit: str
    retry_after: int  # whole seconds, at least 1


async def take(*takes: Take) -> Refusal | None:
    """Take from every bucket, or from none; None when allowed.

    A take with cost 0 only checks: the bucket must hold one token.
    """
    if not takes:
        return None
    args: list[float] = []
    for t in takes:
        args += [t.limit.capacity, t.limit.period * 1000, max(t.cost, 1), t.cost]
    rt = runtime.current()
    try:
        script = rt.services.get("ratelimit")
        if script is None:
            script = rt.services["ratelimit"] = runtime.redis().register_script(TAKE)
        refused, wait_ms, worst = await script(  # type: ignore[operator]
            keys=[t.key for t in takes], args=args
        )
    except Exception:
        log.warning("rate limit check failed; allowing the request", exc_info=True)
        return None
    if not refused:
        return None
    name = takes[int(worst) - 1].limit.name
    metrics.RATE_LIMITED.labels(name).inc()
    return Refusal(limit=name, retry_after=max(1, math.ceil(int(wait_ms) / 1000)))
