"""The DataLoader base class: one instance per request, per loader class.

Loaders are named <Thing>By<Key>Loader (Saleor style). Each batch calls a
selector that groups keys by physical shard server and issues one statement
per server, so a page costs a constant number of statements.
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable
from typing import TYPE_CHECKING, Generic, TypeVar

from strawberry.dataloader import DataLoader

if TYPE_CHECKING:
    from backend.graph.context import Context

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BaseLoader(DataLoader[K, V], Generic[K, V]):
    def __init__(self, context: Context) -> None:
        self.context = context
        super().__init__(load_fn=self.batch_load)

    async def batch_load(self, keys: list[K]) -> list[V]:
        raise NotImplementedError

    def forget(self, key: K) -> None:
        """Drop this request's copy of `key` (after a change), if it has one."""
        with contextlib.suppress(KeyError):
            self.clear(key)
