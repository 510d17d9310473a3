"""Redis clients for feeds and other product data (REDIS_URL).

One sync client per process (thread-safe connection pool) for actors and
commands; one asyncio client per event loop for the request path, because an
asyncio connection belongs to the loop that opened it.
"""

from __future__ import annotations

import asyncio
import os
import threading

import redis
import redis.asyncio as aioredis
from django.conf import settings

_lock = threading.Lock()
_sync: dict[int, redis.Redis] = {}
_async: dict[tuple[int, int], aioredis.Redis] = {}


def sync_client() -> redis.Redis:
    pid = os.getpid()
    with _lock:
        client = _sync.get(pid)
        if client is None:
            client = _sync[pid] = redis.Redis.from_url(settings.REDIS_URL)
        return client


def async_client() -> aioredis.Redis:
    key = (os.getpid(), id(asyncio.get_running_loop()))
    client = _async.get(key)
    if client is None:
        client = _async[key] = aioredis.Redis.from_url(settings.REDIS_URL)
    return client
