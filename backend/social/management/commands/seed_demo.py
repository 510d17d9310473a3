"""Load demo accounts (idempotent): alice, bob, carol, … with one password."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandParser

from backend.shards.progress import progress_bar
from backend.social import services
from backend.social.selectors import get_account_by_username

DEMO_USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
DEMO_PASSWORD = "demo-password"  # noqa: S105  (documented demo credentials)


class Command(BaseCommand):
    help = f"Create demo accounts ({', '.join(DEMO_USERS)}; password {DEMO_PASSWORD!r})."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print a JSON summary")

    def handle(self, *args: Any, **options: Any) -> None:
        created = []
        with progress_bar(len(DEMO_USERS), "demo accounts", unit="user") as bar:
            for username in DEMO_USERS:
                if async_to_sync(get_account_by_username)(username) is None:
                    async_to_sync(services.do_sign_up)(
                        username=username, password=DEMO_PASSWORD, email=f"{username}@example.com"
                    )
                    created.append(username)
                bar.update(1)
        if options["json"]:
            self.stdout.write(json.dumps({"created": created, "users": DEMO_USERS}))
        else:
            self.stdout.write(
                f"demo accounts: {', '.join(DEMO_USERS)} (password {DEMO_PASSWORD!r}); "
                f"{len(created)} created"
            )
