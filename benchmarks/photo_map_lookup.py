"""What a photo map lookup costs the app, next to the reads it replaces.

In-process, one call at a time (no concurrency): app CPU (process time) and
wall time per call of `aget_owners` for 1 and 42 IDs (a feed page of 20 asks
for 42 candidates), of the photo-row SELECT a like used to make, and of the
Memcached get_many and SELECT of 42 photos that the feed no longer makes for
photos of accounts the reader does not follow. The numbers behind
docs/decisions/0014-photo-map-readers.md.

    eval "$(scripts/stack.sh --profile bench env)"; .venv/bin/python benchmarks/photo_map_lookup.py
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable
from typing import Any

from common import emit, log, make_users, setup_django

setup_django()

from backend import caching  # noqa: E402
from backend.photos import photo_map  # noqa: E402
from backend.photos.cache import PHOTO_TTL, photo_key  # noqa: E402
from backend.photos.selectors import get_photos_by_ids  # noqa: E402
from tests.worlds import insert_photos  # noqa: E402

PAGE_CANDIDATES = 42


async def _per_call(call: Callable[[], Awaitable[Any]], n: int) -> dict[str, float]:
    for _ in range(max(50, n // 10)):
        await call()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        await call()
    return {
        "cpu_us": round((time.process_time() - cpu) / n * 1e6, 1),
        "wall_us": round((time.perf_counter() - wall) / n * 1e6, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()

    [(owner_id, _)] = await make_users(1, "pmowner")
    ids = await insert_photos([owner_id], PAGE_CANDIDATES, width=1080, height=810)
    await photo_map.aset_owners((p, owner_id) for p in ids)
    keys = {photo_key(p): p for p in ids}
    await caching.aget_through(ids, key=photo_key, load=get_photos_by_ids, ttl=PHOTO_TTL)
    one = ids[:1]

    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "map_lookup_1": lambda: photo_map.aget_owners(one),
        "photo_select_1": lambda: get_photos_by_ids(one),
        f"map_lookup_{PAGE_CANDIDATES}": lambda: photo_map.aget_owners(ids),
        f"memcache_get_many_{PAGE_CANDIDATES}": lambda: caching.aget_many(keys),
        f"photo_select_{PAGE_CANDIDATES}": lambda: get_photos_by_ids(ids),
    }
    results = {}
    for name, call in calls.items():
        results[name] = await _per_call(call, args.calls)
        log(f"photo_map_lookup: {name}: {results[name]}")
    assert await photo_map.aget_owners(ids) == dict.fromkeys(ids, owner_id)
    emit({"benchmark": "photo_map_lookup", "calls": args.calls, "per_call": results})


if __name__ == "__main__":
    from backend import runtime

    runtime.run(main())
