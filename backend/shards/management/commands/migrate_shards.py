"""Create every logical shard schema and apply the sharded models' migrations."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import CommandParser

from backend.commands import AsyncCommand
from backend.runtime import in_thread
from backend.shards import topology
from backend.shards.migrator import migrate_all
from backend.shards.progress import progress_bar


class Command(AsyncCommand):
    help = (
        "Create the shard map (LOGICAL_SHARDS over SHARD_DATABASE_URLS) if missing, then "
        "create and migrate every logical schema on its physical server. Idempotent and "
        "resumable: each schema records its own applied migrations."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print a JSON summary")

    async def ahandle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        shard_map = await topology.ensure_map()
        with progress_bar(shard_map.logical_count, "migrating shards") as bar:
            # Django's migration executor is sync (one thread per server inside).
            applied = await in_thread(migrate_all, shard_map, progress=bar.update)
        summary: dict[str, Any] = {
            "logical_shards": shard_map.logical_count,
            "servers": sorted(set(shard_map.placement)),
            "migrations_applied": applied,
            "seconds": round(time.monotonic() - started, 2),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"{summary['logical_shards']} logical shards on {len(summary['servers'])} "
                f"servers up to date ({sum(applied.values())} migrations applied "
                f"in {summary['seconds']} s)"
            )
