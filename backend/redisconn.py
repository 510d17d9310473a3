"""The Redis client for feeds and other product data (REDIS_URL): the
runtime's, opened on this process's loop (backend/runtime.py)."""

from __future__ import annotations

import redis.asyncio as aioredis

from backend import runtime


def async_client() -> aioredis.Redis:
    return runtime.redis()
