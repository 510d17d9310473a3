"""Which Django models live in the logical shard schemas.

A model marked with @sharded is created in every `shard_NNNN` schema by
`migrate_shards` and never in the directory database; the router reads this
registry by label, so historical models in migrations route the same way.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models

SHARDED_LABELS: set[str] = set()

M = TypeVar("M", bound=type[models.Model])


def sharded(model: M) -> M:
    SHARDED_LABELS.add(model._meta.label_lower)
    return model


def is_sharded(app_label: str, model_name: str) -> bool:
    return f"{app_label}.{model_name}".lower() in SHARDED_LABELS


def sharded_formerly(label: str) -> None:
    """A sharded model's label before it moved to another app: the old
    migrations that create its table still route to the shards."""
    SHARDED_LABELS.add(label.lower())
