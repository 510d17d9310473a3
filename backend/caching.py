"""Memcached helpers shared by the domain cache modules.

Memcached holds copies of hot objects (users, photos). A copy is deleted
after the change that makes it stale has committed; TTLs are short so a copy
filled by a read that raced with a change lags briefly, never for long.
Memcached being down turns every call here into a miss (the cache backend is
configured with ignore_exc), so the product stays correct, only slower.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache import cache

log = logging.getLogger(__name__)


async def _in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a (blocking, pymemcache) cache call in a pool thread.

    Not Django's `cache.aget_many` & co.: they run in the request's one
    thread-sensitive thread, where a page's cache calls queue behind the
    ORM's, which measured 12 ms per feed page instead of 0.5.
    """
    return await sync_to_async(fn, thread_sensitive=False)(*args, **kwargs)


async def aget_many(keys: dict[str, int]) -> dict[int, Any]:
    """`keys` maps cache key → object ID; returns the cached objects by ID."""
    if not keys:
        return {}
    try:
        found = await _in_thread(cache.get_many, list(keys))
    except Exception:  # a broken connection must not fail the read
        log.warning("memcached read failed", exc_info=True)
        return {}
    return {keys[k]: v for k, v in found.items()}


async def aset_many(items: dict[str, Any], *, ttl: int) -> None:
    if not items:
        return
    try:
        await _in_thread(cache.set_many, items, timeout=ttl)
    except Exception:
        log.warning("memcached write failed", exc_info=True)


async def adelete_many(keys: Iterable[str]) -> None:
    keys = list(keys)
    if not keys:
        return
    try:
        await _in_thread(cache.delete_many, keys)
    except Exception:
        log.warning("memcached delete failed", exc_info=True)


async def aget_through(
    ids: list[int],
    *,
    key: Callable[[int], str],
    load: Callable[[list[int]], Any],
    ttl: int,
) -> dict[int, Any]:
    """Objects by ID: cached copies first, then `load(missing ids)` (awaitable → {id: obj}),
    whose results are cached. IDs with no object are absent."""
    keys = {key(i): i for i in set(ids)}
    found = await aget_many(keys)
    missing = [i for i in keys.values() if i not in found]
    if missing:
        loaded: dict[int, Any] = await load(missing)
        found.update(loaded)
        await aset_many({key(i): obj for i, obj in loaded.items()}, ttl=ttl)
    return found
