"""/healthz (the process answers) and /readyz (every dependency answers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import boto3
import psycopg
from botocore.config import Config
from django.conf import settings

from backend import runtime
from backend.shards import db

CHECK_TIMEOUT = 2.0


def _postgres(server: str) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        # A connection of its own, not the pool's: the question is whether the
        # server accepts connections now.
        conn = await psycopg.AsyncConnection.connect(
            runtime.conninfo(server), autocommit=True, connect_timeout=int(CHECK_TIMEOUT)
        )
        async with conn:
            await conn.execute("SELECT 1")

    return check


async def _redis() -> None:
    await runtime.redis().ping()


async def _memcached() -> None:
    await runtime.memcache().version()


def _s3_sync() -> None:
    opts = cast(dict[str, Any], cast(dict[str, Any], settings.STORAGES["default"])["OPTIONS"])
    client = boto3.client(
        "s3",
        endpoint_url=opts["endpoint_url"],
        aws_access_key_id=opts["access_key"],
        aws_secret_access_key=opts["secret_key"],
        region_name=opts["region_name"],
        config=Config(
            connect_timeout=CHECK_TIMEOUT, read_timeout=CHECK_TIMEOUT, retries={"max_attempts": 1}
        ),
    )
    client.head_bucket(Bucket=opts["bucket_name"])


async def _s3() -> None:
    await runtime.in_thread(_s3_sync)  # boto3 has no async API


def checks() -> dict[str, Callable[[], Awaitable[None]]]:
    out: dict[str, Callable[[], Awaitable[None]]] = {"directory": _postgres(db.DIRECTORY)}
    for server in db.servers():
        out[server] = _postgres(server)
    out["redis"] = _redis
    out["memcached"] = _memcached
    out["s3"] = _s3
    return out


async def _run(check: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT + 0.5)
        result: dict[str, Any] = {"ok": True}
    except Exception as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()[:300]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


async def healthz() -> tuple[int, dict[str, Any]]:
    return 200, {"status": "ok"}


async def readyz() -> tuple[int, dict[str, Any]]:
    named = checks()
    results = dict(
        zip(named, await asyncio.gather(*(_run(c) for c in named.values())), strict=True)
    )
    failed = sorted(name for name, r in results.items() if not r["ok"])
    body = {"status": "unavailable" if failed else "ok", "failed": failed, "checks": results}
    return (503 if failed else 200), body
