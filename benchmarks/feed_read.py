"""Feed pages per second over HTTP through gunicorn, as a ratio to `{ __typename }`.

Setup (in-process, not timed): AUTHORS accounts with 5 photos each, READERS
accounts that follow all authors (through the follow service, so the edges,
counts and backfill are the real ones). Each request asks one reader's
feed(first: 20) with owner, URL, counts and viewerHasLiked, like a client's
home screen. Baseline, same run, same client: `{ __typename }`.

    eval "$(scripts/stack.sh --profile bench env)"; .venv/bin/python benchmarks/feed_read.py
"""

from __future__ import annotations

import argparse
import secrets
from typing import Any

from common import emit, hammer, log, make_users, setup_django

setup_django()

from backend.shards import routing  # noqa: E402
from backend.shards.ids import shard_of  # noqa: E402
from backend.social.services.follows import do_follow  # noqa: E402

TARGET_RATIO = 0.4
FEED = """
query { feed(first: 20) {
  edges { cursor node {
    id caption url(size: MEDIUM) likeCount commentCount viewerHasLiked
    owner { id username }
  } }
  pageInfo { hasNextPage endCursor }
} }"""


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--authors", type=int, default=20)
    parser.add_argument("--readers", type=int, default=40)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    log("feed_read: making authors, photos, readers and follows")
    authors = await make_users(args.authors, "author")
    for author_id, _ in authors:
        for n in range(5):
            await routing.aquery(
                shard_of(author_id),
                'INSERT INTO {schema}."photos_photo" (owner_id, caption, width, height, key) '
                "VALUES (%s, %s, 1080, 810, %s)",
                [author_id, f"photo {n}", secrets.token_urlsafe(16)],
            )
    readers = await make_users(args.readers, "reader")
    for reader_id, _ in readers:
        for author_id, _ in authors:
            await do_follow(viewer_id=reader_id, target_id=author_id)

    def full_page(data: dict[str, Any]) -> None:
        assert len(data["data"]["feed"]["edges"]) == 20

    feed = [
        ({"query": FEED}, {"Authorization": f"Bearer {readers[i % len(readers)][1]}"})
        for i in range(args.requests)
    ]
    typename: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"query": "{ __typename }"}, {}) for _ in range(args.requests)
    ]
    log("feed_read: warming up (feeds built on first read, caches filled)")
    await hammer(feed[: len(readers)], concurrency=4, check=full_page)
    await hammer(typename[:500], concurrency=args.concurrency)
    rates, bases = [], []
    for _ in range(2):  # interleaved, so a noisy spell hits both
        rates.append(await hammer(feed, concurrency=args.concurrency, check=full_page))
        bases.append(await hammer(typename, concurrency=args.concurrency))
    rate, base = max(rates), max(bases)
    emit(
        {
            "benchmark": "feed_read",
            "requests_per_run": args.requests,
            "concurrency": args.concurrency,
            "feed_pages_per_second": round(rate),
            "runs_feed_pages_per_second": [round(r) for r in rates],
            "baseline_typename_per_second": round(base),
            "runs_baseline_per_second": [round(b) for b in bases],
            "ratio": round(rate / base, 3),
            "target_ratio": TARGET_RATIO,
            "meets_target": rate / base >= TARGET_RATIO,
        }
    )


if __name__ == "__main__":
    from backend import runtime

    runtime.run(main())
