"""Rebuild searchUsers' terms from every account and profile."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import CommandParser

from backend.accounts.selectors import count_accounts, get_all_account_ids
from backend.accounts.services import do_reindex_users
from backend.commands import AsyncCommand
from backend.shards.progress import progress_bar

BATCH = 1000


class Command(AsyncCommand):
    help = (
        "Rewrite the directory's search terms (usernames, full names) of every account from "
        "the accounts and their profiles on the shards, a batch at a time. Needed once for "
        "accounts created before the search index; profile edits keep it in step afterwards."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print a JSON summary")

    async def ahandle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        accounts = terms = 0
        after = 0
        with progress_bar(await count_accounts(), "indexing accounts", unit="account") as bar:
            while ids := await get_all_account_ids(after=after, limit=BATCH):
                terms += await do_reindex_users(user_ids=ids)
                accounts += len(ids)
                after = ids[-1]
                bar.update(len(ids))
        summary = {
            "accounts": accounts,
            "terms": terms,
            "seconds": round(time.monotonic() - started, 2),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(f"indexed {accounts} accounts ({terms} terms)")
