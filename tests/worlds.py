"""World-builders and GraphQL documents shared by the tests and the
benchmarks (which import this module as `tests.worlds`), so both measure and
check the same thing."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from backend.photos.models import PHOTO
from backend.shards import routing
from backend.shards.ids import shard_of
from backend.social.models import COMMENT, LIKE

# What a photo grid or feed card asks for: the fields the read path batches.
PHOTO_FIELDS = """
  id likeCount viewerHasLiked commentCount url(size: THUMBNAIL)
  owner { id username }
  comments(first: 3) { edges { node { id text author { id username } } } }
"""


def photos_by_id(ids: Sequence[int]) -> str:
    """One document asking for each photo by ID, under aliases p0, p1, …"""
    parts = [f'p{n}: photo(id: "{pid}") {{ {PHOTO_FIELDS} }}' for n, pid in enumerate(ids)]
    return "{ " + "\n".join(parts) + " }"


def feed_page(size: int) -> str:
    return f"{{ feed(first: {size}) {{ edges {{ node {{ {PHOTO_FIELDS} }} }} }} }}"


async def insert_photos(
    owner_ids: Sequence[int],
    n: int,
    *,
    comments_by: Sequence[int] = (),
    liked_by: int | None = None,
    width: int = 10,
    height: int = 10,
) -> list[int]:
    """n photo rows, round-robin over `owner_ids`, written straight into the
    shards (no upload: no objects, no event, no photo map entry).

    Each photo gets one comment per ID in `comments_by` (texts c0, c1, …) and
    every second photo (odd positions) a like by `liked_by`; the rows'
    counters match.
    """
    ids: list[int] = []
    for i in range(n):
        owner_id = owner_ids[i % len(owner_ids)]
        liked = liked_by is not None and i % 2 == 1
        rows = await routing.aquery(
            shard_of(owner_id),
            f'INSERT INTO {{schema}}."{PHOTO}" (owner_id, caption, width, height, key, '
            "comment_count, like_count) VALUES (%s, '', %s, %s, %s, %s, %s) RETURNING id",
            [owner_id, width, height, secrets.token_urlsafe(16), len(comments_by), int(liked)],
        )
        photo_id = int(rows[0]["id"])
        ids.append(photo_id)
        for c, author_id in enumerate(comments_by):
            await routing.aquery(
                shard_of(photo_id),
                f'INSERT INTO {{schema}}."{COMMENT}" (photo_id, author_id, text) '
                "VALUES (%s, %s, %s)",
                [photo_id, author_id, f"c{c}"],
            )
        if liked:
            await routing.aquery(
                shard_of(photo_id),
                f'INSERT INTO {{schema}}."{LIKE}" (photo_id, user_id) VALUES (%s, %s)',
                [photo_id, liked_by],
            )
    return ids
