"""The Memcached client of the request path: aiomcache (aio-libs), on the
process's loop, with a timeout on every call.

Measured choice (docs/decisions/0010-runtime.md): the previous client
(pymemcache, through a thread) cost a thread hop per call and a new connection
per request; aiomcache keeps a few connections per server on the loop. Values
are pickled (our records are frozen dataclasses). Several servers: each key
goes to one, by CRC32.

Memcached is a cache: every failure (down, slow, garbage) is a miss, logged.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import aiomcache
from aiomcache.pool import Connection

log = logging.getLogger(__name__)

TIMEOUT = 0.2
PREFIX = b"ps:"
POOL_SIZE = 4


class _Client(aiomcache.Client):
    """aiomcache's client, with EOF handled. aiomcache 0.8.2 (the latest
    release) reads a one-line answer (set, delete, touch, version...) with
    `while not line.endswith(b"\\r\\n"): line = await reader.readline()`: when
    the server closes the connection before answering (killed, restarted),
    readline returns b"" at once, for ever, without yielding to the loop. The
    process's event loop then spins at 100% CPU and no timeout can fire: a
    worker stopped taking messages after a Memcached restart
    (aio-libs/aiomcache#502, fix not released)."""

    async def _execute_simple_command(self, conn: Connection, raw_command: bytes) -> bytes:
        conn.writer.write(raw_command)
        await conn.writer.drain()
        response, line = bytearray(), b""
        while not line.endswith(b"\r\n"):
            line = await conn.reader.readline()
            if not line:
                raise ConnectionResetError("memcached closed the connection before answering")
            response.extend(line)
        return bytes(response[:-2])


class Memcache:
    def __init__(self, locations: Sequence[str]) -> None:
        self.clients: list[aiomcache.Client] = []
        for location in locations:
            host, _, port = location.rpartition(":")
            self.clients.append(_Client(host, int(port), pool_size=POOL_SIZE))

    def _client_of(self, key: bytes) -> aiomcache.Client:
        if len(self.clients) == 1:
            return self.clients[0]
        return self.clients[zlib.crc32(key) % len(self.clients)]

    def _by_client(self, keys: Iterable[str]) -> dict[aiomcache.Client, list[tuple[str, bytes]]]:
        out: dict[aiomcache.Client, list[tuple[str, bytes]]] = defaultdict(list)
        for key in keys:
            raw = PREFIX + key.encode()
            out[self._client_of(raw)].append((key, raw))
        return out

    async def _guard(self, client: aiomcache.Client, what: str, call: Any) -> Any:
        try:
            async with asyncio.timeout(TIMEOUT):
                return await call
        except Exception:
            # aiomcache puts a connection whose read was cut short back in its
            # pool; drop them all so no later call reads this one's answer.
            await client._pool.clear()
            log.warning("memcached %s failed", what, exc_info=True)
            return None

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for client, pairs in self._by_client(keys).items():
            values = await self._guard(client, "get", client.multi_get(*(raw for _, raw in pairs)))
            for (key, _), value in zip(pairs, values or (), strict=False):
                if value is not None:
                    try:
                        found[key] = pickle.loads(value)  # noqa: S301  (our own cache)
                    except Exception:
                        log.warning("memcached value of %s is unreadable", key)
        return found

    async def set_many(self, items: dict[str, Any], *, ttl: int) -> None:
        for client, pairs in self._by_client(items).items():
            for key, raw in pairs:
                value = pickle.dumps(items[key], protocol=pickle.HIGHEST_PROTOCOL)
                await self._guard(client, "set", client.set(raw, value, exptime=ttl))

    async def delete_many(self, keys: Iterable[str]) -> None:
        for client, pairs in self._by_client(keys).items():
            for _, raw in pairs:
                await self._guard(client, "delete", client.delete(raw))

    async def version(self) -> None:
        """Raises unless every server answers (for /readyz)."""
        for client in self.clients:
            async with asyncio.timeout(2.0):
                await client.version()

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
