"""Likes per second through GraphQL over HTTP (real gunicorn), counts checked exactly.

Setup (in-process, not timed): USERS accounts and PHOTOS photos of other
accounts spread over the shards. Then every user likes every photo once, in
random order, from CONCURRENCY keep-alive HTTP connections; afterwards each
photo's likeCount and its like rows must equal USERS exactly.

Baseline, same run, same client and server: `{ __typename }` requests per
second (the cost of the HTTP + GraphQL round trip alone).

    eval "$(scripts/stack.sh --profile bench env)"; .venv/bin/python benchmarks/likes.py
"""

from __future__ import annotations

import argparse
import random
import secrets
from typing import Any

from common import emit, hammer, log, make_users, setup_django

setup_django()

from backend.shards import routing  # noqa: E402
from backend.shards.ids import shard_of  # noqa: E402

TARGET = 1_000
LIKE = "mutation($id: ID!) { likePhoto(id: $id) { id likeCount viewerHasLiked } }"


async def make_photos(owners: list[tuple[int, str]]) -> list[int]:
    ids = []
    for owner_id, _ in owners:
        rows = await routing.aquery(
            shard_of(owner_id),
            'INSERT INTO {schema}."photos_photo" (owner_id, width, height, key) '
            "VALUES (%s, 1080, 1080, %s) RETURNING id",
            [owner_id, secrets.token_urlsafe(16)],
        )
        ids.append(int(rows[0]["id"]))
    return ids


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    log(f"likes: making {args.users} users and {args.photos} photos")
    users = await make_users(args.users, "liker")
    photos = await make_photos(await make_users(args.photos, "likee"))
    likes = [
        ({"query": LIKE, "variables": {"id": str(p)}}, {"Authorization": f"Bearer {token}"})
        for _, token in users
        for p in photos
    ]
    random.shuffle(likes)

    def liked(data: dict[str, Any]) -> None:
        assert data["data"]["likePhoto"]["viewerHasLiked"] is True

    typename: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"query": "{ __typename }"}, {}) for _ in range(len(likes))
    ]
    log("likes: warming up")
    await hammer(typename[:500], concurrency=args.concurrency)
    log(f"likes: {len(likes):,} likes")
    rate = await hammer(likes, concurrency=args.concurrency, check=liked)
    log("likes: baseline { __typename }")
    base = await hammer(typename, concurrency=args.concurrency)

    exact = True
    for photo_id in photos:
        rows = await routing.aquery(
            shard_of(photo_id),
            'SELECT like_count, (SELECT count(*) FROM {schema}."social_like" '
            'WHERE photo_id = %s) AS n FROM {schema}."photos_photo" WHERE id = %s',
            [photo_id, photo_id],
        )
        exact &= rows[0]["like_count"] == rows[0]["n"] == args.users
    emit(
        {
            "benchmark": "likes",
            "likes": len(likes),
            "concurrency": args.concurrency,
            "likes_per_second": round(rate),
            "counts_exact": exact,
            "target_likes_per_second": TARGET,
            "meets_target": rate >= TARGET and exact,
            "baseline_typename_per_second": round(base),
            "ratio_to_baseline": round(rate / base, 3),
        }
    )


if __name__ == "__main__":
    from backend import runtime

    runtime.run(main())
