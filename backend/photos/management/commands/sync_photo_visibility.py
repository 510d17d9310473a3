"""Make every account's photo objects public-read or private, as its privacy is."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import CommandParser

from backend.accounts.selectors import get_all_account_ids
from backend.commands import AsyncCommand
from backend.photos.visibility import do_sync_photo_visibility
from backend.shards.progress import progress_bar


class Command(AsyncCommand):
    help = (
        "Set the ACL of every photo object to match its owner's privacy (public-read for "
        "public accounts, private for private ones), for every account or --user ID only. "
        "The worker does this after each isPrivate change; run this after an upgrade that "
        "added private photos, or when such a job was lost."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--user",
            type=int,
            action="append",
            dest="users",
            metavar="ID",
            help="only this user (repeatable)",
        )
        parser.add_argument("--json", action="store_true", help="print a JSON summary")

    async def ahandle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        users: list[int] = options["users"] or []
        if not users:
            after = 0
            while page := await get_all_account_ids(after=after):
                users += page
                after = page[-1]
        with progress_bar(len(users), "syncing photo visibility") as bar:
            for user_id in users:
                await do_sync_photo_visibility(owner_id=user_id)
                bar.update()
        summary = {"accounts": len(users), "seconds": round(time.monotonic() - started, 2)}
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(f"synced {len(users)} accounts in {summary['seconds']} s")
