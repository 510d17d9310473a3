"""/healthz (the process answers) and /readyz (every dependency answers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import boto3
import psycopg
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from botocore.config import Config
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from pymemcache.client.base import Client as MemcacheClient

CHECK_TIMEOUT = 2.0


async def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _conninfo(alias: str) -> str:
    s = connections.settings[alias]
    return psycopg.conninfo.make_conninfo(
        host=s["HOST"],
        port=s["PORT"],
        dbname=s["NAME"],
        user=s["USER"],
        password=s["PASSWORD"] or None,
        connect_timeout=int(CHECK_TIMEOUT),
    )


def _postgres(alias: str) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        conn = await psycopg.AsyncConnection.connect(_conninfo(alias), autocommit=True)
        async with conn:
            await conn.execute("SELECT 1")

    return check


async def _redis() -> None:
    client = aioredis.from_url(
        settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
    )
    async with client:
        await client.ping()


def _memcached_sync() -> None:
    cache = cast(dict[str, Any], settings.CACHES["default"])
    for location in cache["LOCATION"]:
        host, _, port = location.rpartition(":")
        client = MemcacheClient(
            (host, int(port)), connect_timeout=CHECK_TIMEOUT, timeout=CHECK_TIMEOUT
        )
        try:
            client.version()
        finally:
            client.close()


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


def checks() -> dict[str, Callable[[], Awaitable[None]]]:
    out: dict[str, Callable[[], Awaitable[None]]] = {"directory": _postgres("default")}
    for server in settings.SHARD_SERVERS:
        out[server] = _postgres(server)
    out["redis"] = _redis
    out["memcached"] = sync_to_async(_memcached_sync, thread_sensitive=False)
    out["s3"] = sync_to_async(_s3_sync, thread_sensitive=False)
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


async def readyz(request: HttpRequest) -> JsonResponse:
    named = checks()
    results = dict(
        zip(named, await asyncio.gather(*(_run(c) for c in named.values())), strict=True)
    )
    failed = sorted(name for name, r in results.items() if not r["ok"])
    body = {"status": "unavailable" if failed else "ok", "failed": failed, "checks": results}
    return JsonResponse(body, status=503 if failed else 200)
