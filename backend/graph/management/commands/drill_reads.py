"""The restore drill's reads (`make restore-drill`, scripts/stack.sh): the
same GraphQL reads of user profiles, photo lists, comments and follow
counts, asked of whatever servers this process's environment names (the live
stack, or scratch clusters restored from backups), printed as one JSON object
to compare (docs/decisions/0063-restore-drill.md).

The reads go through the GraphQL ASGI app in this process (the one
backend/asgi.py routes /graphql to), as a client's would; set
MEMCACHED_LOCATION to a closed port so that cached copies, which may lag,
answer nothing.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from django.core.management.base import CommandParser

from backend.accounts.models import Account
from backend.commands import AsyncCommand
from backend.graph.views import graphql_app
from backend.shards import db

PROFILE = """query($id: ID!) { user(id: $id) {
  id username fullName bio isPrivate photoCount followerCount followingCount
  photos(first: 10) { edges { node { id caption width height likeCount commentCount
    comments(first: 5) { edges { node { id text createdAt author { id username } } } }
  } } }
  followers(first: 10) { edges { node { id username } } }
  following(first: 10) { edges { node { id username } } }
} }"""


class Command(AsyncCommand):
    help = "GraphQL reads of users' profiles, photos, comments and follows, as JSON (restore drill)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ids", help="comma-separated user IDs (default: the newest --count)")
        parser.add_argument("--count", type=int, default=20)

    async def ahandle(self, *args: Any, **options: Any) -> None:
        if options["ids"]:
            ids = [int(i) for i in options["ids"].split(",") if i]
        else:
            rows = await db.aexecute(
                db.DIRECTORY,
                f'SELECT id FROM "{Account._meta.db_table}" ORDER BY id DESC LIMIT %s',
                [options["count"]],
            )
            ids = [int(r["id"]) for r in rows]
        transport = httpx.ASGITransport(app=graphql_app)
        answers: dict[str, Any] = {}
        async with httpx.AsyncClient(transport=transport, base_url="http://drill") as client:
            for user_id in ids:
                response = await client.post(
                    "/graphql", json={"query": PROFILE, "variables": {"id": str(user_id)}}
                )
                answers[str(user_id)] = response.json()
        self.stdout.write(json.dumps(answers, sort_keys=True))
