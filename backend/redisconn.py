"""Redis clients for feeds and other product data (REDIS_URL).

One sync client per process (thread-safe connection pool) for actors and
commands; one asyncio client per event loop for the request path, because an
asyncio connection belongs to the loop that opened it.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings

_lock = threading.Lock()
_sync: dict[int, redis.Redis] = {}
# Keyed by the loop object, not id(loop): a closed loop's id can be reused by
# a new loop, which must not get a client bound to the dead one.
_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)


def sync_client() -> redis.Redis:
    pid = os.getpid()
    with _lock:
        client = _sync.get(pid)
        if client is None:
            client = _sync[pid] = redis.Redis.from_url(settings.REDIS_URL)
        return client


def async_client() -> aioredis.Redis:
    loop = asyncio.get_running_loop()
    client = _async.get(loop)
    if client is None:
        client = _async[loop] = aioredis.Redis.from_url(settings.REDIS_URL)
    return client
