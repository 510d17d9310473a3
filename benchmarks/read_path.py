"""SQL statements per GraphQL page, per database alias, for 5, 20 and 50 photos.

Photos of 10 owners (spread over the shard servers) with 4 comments each and
likes by the viewer are written straight into the shards. Each query asks N
photos with owner, likeCount, viewerHasLiked, commentCount and 3 comments
with their authors, once by ID (`photo(id:)` aliases: photos on many logical
shards) and once as the viewer's home feed; it runs in-process over ASGI so
every statement is counted (backend.shards.stats). Memcached is cleared
before each cold run; the warm run repeats the query with the cache filled.
A page that grows with N is an N+1; the expected shape is flat.

    eval "$(scripts/stack.sh --profile bench env)"; .venv/bin/python benchmarks/read_path.py
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from common import emit, log, make_users, setup_django

setup_django()

import httpx  # noqa: E402
from django.core.cache import cache  # noqa: E402

from backend.asgi import application  # noqa: E402
from backend.shards.stats import count_statements  # noqa: E402
from backend.social.services.follows import do_follow  # noqa: E402
from tests.worlds import feed_page, insert_photos, photos_by_id  # noqa: E402


async def build(n_photos: int) -> tuple[str, list[int]]:
    (viewer_id, token), *owners = await make_users(11, "reader")
    owner_ids = [owner_id for owner_id, _ in owners]
    photo_ids = await insert_photos(
        owner_ids, n_photos, comments_by=owner_ids[:4], liked_by=viewer_id
    )
    for owner_id in owner_ids:
        await do_follow(viewer_id=viewer_id, target_id=owner_id)
    return token, photo_ids


async def counted(client: httpx.AsyncClient, query: str, token: str) -> dict[str, int]:
    with count_statements() as counter:
        response = await client.post(
            "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
        )
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return dict(sorted(Counter(counter).items()))


async def main() -> None:
    log("read_path: writing 50 photos with comments and likes")
    token, photo_ids = await build(50)
    transport = httpx.ASGITransport(app=application)  # type: ignore[arg-type]
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        # Open the pools, load the shard map, build the viewer's feed (a first
        # read of a missing feed rebuilds it from the shards: a one-off cost).
        await counted(client, "{ viewer { id } feed(first: 1) { edges { cursor } } }", token)
        for size in (5, 20, 50):
            by_id = photos_by_id(photo_ids[:size])
            feed = feed_page(size)
            row: dict[str, Any] = {}
            for name, query in (("photos_by_id", by_id), ("feed", feed)):
                cache.clear()
                cold = await counted(client, query, token)
                warm = await counted(client, query, token)
                row[name] = {
                    "cold": cold,
                    "cold_total": sum(cold.values()),
                    "warm": warm,
                    "warm_total": sum(warm.values()),
                }
            results[str(size)] = row
    flat = {
        q: results["5"][q]["cold"] == results["20"][q]["cold"] == results["50"][q]["cold"]
        for q in ("photos_by_id", "feed")
    }
    most = {
        q: max(n for size in results.values() for n in size[q]["cold"].values())
        for q in ("photos_by_id", "feed")
    }
    emit(
        {
            "benchmark": "read_path",
            "statements_per_page": results,
            "flat_in_page_size": flat,
            # The feed also reads the shard map's version (at most once a second,
            # so some pages and not others) and the viewer's follow edges.
            "most_statements_on_one_alias": most,
        }
    )


if __name__ == "__main__":
    from backend import runtime

    runtime.run(main())
