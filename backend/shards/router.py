"""Keeps sharded models out of the directory and directory models off shards."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from backend.shards.registry import is_sharded


class ShardRouter:
    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        on_shard_server = db in settings.SHARD_SERVERS
        if model_name is None:
            # RunSQL/RunPython: directory unless the operation says otherwise.
            return bool(hints.get("sharded", False)) == on_shard_server
        return is_sharded(app_label, model_name) == on_shard_server
