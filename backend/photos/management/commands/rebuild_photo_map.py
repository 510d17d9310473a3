"""Rebuild the Redis photo→owner map from every logical shard's photos."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import CommandError, CommandParser

from backend.commands import AsyncCommand
from backend.photos import photo_map
from backend.shards import topology
from backend.shards.progress import progress_bar


class Command(AsyncCommand):
    help = (
        "Rewrite the Redis photo→owner map from the photos_photo table of every logical "
        "shard (or of --shard N only). Each shard's part is swapped atomically, so lookups "
        "keep answering during the rebuild; entries without a row are gone afterwards. "
        "A full rebuild also drops map keys of shards past LOGICAL_SHARDS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--shard",
            type=int,
            action="append",
            dest="shards",
            metavar="N",
            help="rebuild only this logical shard (repeatable)",
        )
        parser.add_argument("--json", action="store_true", help="print a JSON summary")

    async def ahandle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        shard_map = await topology.refresh(force=True)
        shards: list[int] = sorted(set(options["shards"] or range(shard_map.logical_count)))
        outside = [s for s in shards if not 0 <= s < shard_map.logical_count]
        if outside:
            raise CommandError(f"not in the shard map: {outside}")
        mapped = skipped = 0
        with progress_bar(len(shards), "rebuilding photo map") as bar:
            for shard in shards:
                done, bad = await photo_map.arebuild_shard(shard)
                mapped, skipped = mapped + done, skipped + bad
                bar.set_postfix(photos=mapped, refresh=False)
                bar.update()
        dropped = [] if options["shards"] else await photo_map.astale_keys(shard_map.logical_count)
        if dropped:
            await photo_map.aclient().unlink(*dropped)
        summary = {
            "photos_mapped": mapped,
            "skipped_owner_on_other_shard": skipped,
            "shards": len(shards),
            "stale_keys_dropped": len(dropped),
            "seconds": round(time.monotonic() - started, 2),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"mapped {mapped} photos on {len(shards)} logical shards "
                f"in {summary['seconds']} s"
                + (f" ({skipped} skipped: owner on another shard)" if skipped else "")
            )
