"""Rebuild every user's home feed from the shards (after losing Redis, say)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from django.core.management.base import CommandParser

from backend.accounts.selectors import get_all_account_ids
from backend.commands import AsyncCommand
from backend.feeds.services import arebuild_feed
from backend.shards.progress import progress_bar

CONCURRENCY = 20  # feeds rebuilt at once (their shard reads overlap)


async def _rebuild_many(user_ids: list[int]) -> list[int]:
    return list(await asyncio.gather(*(arebuild_feed(u) for u in user_ids)))


async def _all_account_ids() -> list[int]:
    ids: list[int] = []
    while page := await get_all_account_ids(after=ids[-1] if ids else 0):
        ids.extend(page)
    return ids


class Command(AsyncCommand):
    help = (
        "Rebuild the Redis home feed of every user (or of --user IDs) from the shards: "
        "the newest photos of the accounts each follows. Photos fanned out meanwhile are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", type=int, action="append", help="only this user ID")
        parser.add_argument("--json", action="store_true", help="print a JSON summary")

    async def ahandle(self, *args: Any, **options: Any) -> None:
        ids = options["user"] or await _all_account_ids()
        started = time.monotonic()
        entries = 0
        with progress_bar(len(ids), "rebuilding feeds", unit="user") as bar:
            for start in range(0, len(ids), CONCURRENCY):
                batch = ids[start : start + CONCURRENCY]
                sizes = await _rebuild_many(batch)
                entries += sum(size - 1 for size in sizes)  # minus the "complete" marker
                bar.update(len(batch))
        summary = {
            "users": len(ids),
            "feed_entries": entries,
            "seconds": round(time.monotonic() - started, 3),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"rebuilt {summary['users']} feeds ({entries} entries) in {summary['seconds']} s"
            )
