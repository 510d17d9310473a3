"""Memcached helpers shared by the domain cache modules.

Memcached holds copies of hot objects (users, photos). A copy is deleted
after the change that makes it stale has committed; TTLs are short so a copy
filled by a read that raced with a change lags briefly, never for long.
Memcached being down turns every call here into a miss (backend/memcache.py),
so the product stays correct, only slower.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from backend import metrics, runtime


async def aget_many(keys: dict[str, int]) -> dict[int, Any]:
    """`keys` maps cache key → object ID; returns the cached objects by ID."""
    if not keys:
        return {}
    found = await runtime.memcache().get_many(keys)
    return {keys[k]: v for k, v in found.items()}


async def aset_many(items: dict[str, Any], *, ttl: int) -> None:
    if items:
        await runtime.memcache().set_many(items, ttl=ttl)


async def adelete_many(keys: Iterable[str]) -> None:
    keys = list(keys)
    if keys:
        await runtime.memcache().delete_many(keys)


async def aget_through(
    ids: list[int],
    *,
    key: Callable[[int], str],
    load: Callable[[list[int]], Awaitable[dict[int, Any]]],
    ttl: int,
) -> dict[int, Any]:
    """Objects by ID: cached copies first, then `load(missing ids)` → {id: obj},
    whose results are cached. IDs with no object are absent.

    Lookups count in photoshare_cache_requests_total, the cache named by its
    keys' prefix (`user`, `photo`: the domain cache modules' key functions)."""
    keys = {key(i): i for i in set(ids)}
    found = await aget_many(keys)
    missing = [i for i in keys.values() if i not in found]
    if keys:
        cache = next(iter(keys)).partition(":")[0]
        if found:
            metrics.CACHE_REQUESTS.labels(cache, "hit").inc(len(found))
        if missing:
            metrics.CACHE_REQUESTS.labels(cache, "miss").inc(len(missing))
    if missing:
        loaded = await load(missing)
        found.update(loaded)
        await aset_many({key(i): obj for i, obj in loaded.items()}, ttl=ttl)
    return found


async def aget_through_partial(
    ids: list[int],
    *,
    key: Callable[[int], str],
    load: Callable[[list[int]], Awaitable[tuple[dict[int, Any], dict[int, BaseException]]]],
    ttl: int,
) -> tuple[dict[int, Any], dict[int, BaseException]]:
    """`aget_through` whose `load` may leave some IDs unread (their server is
    down): returns what was found, cached or loaded, and the IDs it could
    not read, each with its error. A cached copy answers even then."""
    keys = {key(i): i for i in set(ids)}
    found = await aget_many(keys)
    missing = [i for i in keys.values() if i not in found]
    unavailable: dict[int, BaseException] = {}
    if missing:
        loaded, unavailable = await load(missing)
        found.update(loaded)
        await aset_many({key(i): obj for i, obj in loaded.items()}, ttl=ttl)
    return found, unavailable
