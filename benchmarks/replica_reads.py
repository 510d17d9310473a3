"""Where a reader's statements run with REPLICA_READS off and with every kind
on: the primaries (`shard1`, `default`) or the hot standbys
(`shard1:replica`, ...), for a feed page and a profile page (a user's photos
with their comments), cold (Memcached entries of the world deleted) and warm.

In-process over ASGI so every statement is counted (backend.shards.stats);
also the median wall time of each page over alternating rounds. On one box
the standbys share the primaries' cores, so the time says little about a
gain (docs/decisions/0068-replica-reads.md); the share of statements that
leave the primaries is the point.

    eval "$(scripts/stack.sh --profile bench env)"; .venv/bin/python benchmarks/replica_reads.py
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from typing import Any

from common import emit, log, make_users, setup_django

setup_django()

import httpx  # noqa: E402
from django.conf import settings  # noqa: E402

from backend.accounts.cache import ainvalidate_users  # noqa: E402
from backend.asgi import application  # noqa: E402
from backend.photos.cache import ainvalidate_photos  # noqa: E402
from backend.shards import replicas  # noqa: E402
from backend.shards.stats import count_statements  # noqa: E402
from backend.social.services.follows import do_follow  # noqa: E402
from tests.worlds import feed_page, insert_photos  # noqa: E402

ROUNDS = 10
PROFILE_PAGE = """
query($id: ID!) { user(id: $id) { username bio photoCount
  photos(first: 20) { edges { node { id likeCount commentCount
    comments(first: 3) { edges { node { text author { username } } } } } } } } }"""


async def build() -> tuple[str, list[int], list[int]]:
    (viewer_id, token), *owners = await make_users(11, "replica")
    owner_ids = [owner_id for owner_id, _ in owners]
    photo_ids = await insert_photos(owner_ids, 60, comments_by=owner_ids[:3], liked_by=viewer_id)
    for owner_id in owner_ids:
        await do_follow(viewer_id=viewer_id, target_id=owner_id)
    return token, [viewer_id, *owner_ids], photo_ids


async def page(
    client: httpx.AsyncClient, body: dict[str, Any], token: str
) -> tuple[Counter[str], float]:
    with count_statements() as counter:
        started = time.perf_counter()
        response = await client.post(
            "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        seconds = time.perf_counter() - started
    data = response.json()
    assert not data.get("errors"), data["errors"]
    return counter, seconds


def split(counter: Counter[str]) -> dict[str, int]:
    replica = sum(n for k, n in counter.items() if k.endswith(":replica"))
    return {"primary": sum(counter.values()) - replica, "replica": replica}


async def main() -> None:
    log("replica_reads: 60 photos of 10 followed owners, 3 comments each")
    token, user_ids, photo_ids = await build()
    pages: dict[str, dict[str, Any]] = {
        "feed": {"query": feed_page(20)},
        "profile": {"query": PROFILE_PAGE, "variables": {"id": str(user_ids[1])}},
    }
    modes = {"off": frozenset(), "on": frozenset(settings.REPLICA_READ_KINDS)}
    counts: dict[str, dict[str, Any]] = {}
    times: dict[str, dict[str, list[float]]] = {m: {p: [] for p in pages} for m in modes}
    transport = httpx.ASGITransport(app=application)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        await page(client, pages["feed"], token)  # builds the feed, opens the pools
        await replicas.acheck_all()
        for n in range(ROUNDS):
            for mode, kinds in modes.items():
                settings.REPLICA_READS = kinds
                for name, body in pages.items():
                    await ainvalidate_photos(photo_ids)
                    await ainvalidate_users(user_ids)
                    await replicas.acheck_all()
                    cold, seconds = await page(client, body, token)
                    warm, _ = await page(client, body, token)
                    times[mode][name].append(seconds)
                    if n == 0:
                        counts.setdefault(mode, {})[name] = {
                            "cold": dict(sorted(cold.items())),
                            "cold_split": split(cold),
                            "warm_split": split(warm),
                        }
    emit(
        {
            "benchmark": "replica_reads",
            "rounds": ROUNDS,
            "statements": counts,
            "cold_page_ms_median": {
                mode: {name: round(statistics.median(t) * 1000, 2) for name, t in by.items()}
                for mode, by in times.items()
            },
        }
    )


if __name__ == "__main__":
    from backend import runtime

    runtime.run(main())
