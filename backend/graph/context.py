"""The typed per-request context: viewer, token, session and the request's
loaders, and the DataLoader base class they are made from (one instance per
request, per loader class).

Loaders are named <Thing>By<Key>Loader (Saleor style). Each batch calls a
selector that groups keys by physical shard server and issues one statement
per server, so a page costs a constant number of statements.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from backend.accounts.selectors import TokenSession
from backend.errors import NotAuthenticated, Unavailable

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BaseLoader(DataLoader[K, V], Generic[K, V]):
    def __init__(self, context: Context) -> None:
        self.context = context
        super().__init__(load_fn=self.batch_load)

    async def batch_load(self, keys: list[K]) -> list[V]:
        raise NotImplementedError

    async def load_many_available(self, keys: list[K]) -> list[V | None]:
        """`load_many`, with None for the keys whose server is down (Unavailable):
        a list shows what can be had while one server is down."""
        results = await asyncio.gather(*(self.load(k) for k in keys), return_exceptions=True)
        out: list[V | None] = []
        for result in results:
            if isinstance(result, Unavailable):
                out.append(None)
            elif isinstance(result, BaseException):
                raise result
            else:
                out.append(result)
        return out

    def forget(self, key: K) -> None:
        """Drop this request's copy of `key` (after a change), if it has one."""
        with contextlib.suppress(KeyError):
            self.clear(key)


L = TypeVar("L", bound=BaseLoader[Any, Any])


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket
    viewer_id: int | None = None
    token: str | None = None
    client_ip: str | None = None
    # The session `token` signs in as (None when anonymous or refused).
    session: TokenSession | None = None
    _loaders: dict[type[Any], Any] = field(default_factory=dict)

    def loader(self, cls: type[L]) -> L:
        """This request's instance of loader `cls` (created on first use)."""
        instance = self._loaders.get(cls)
        if instance is None:
            instance = self._loaders[cls] = cls(self)
        return cast(L, instance)

    def require_viewer(self) -> int:
        if self.viewer_id is None:
            if self.token is not None:
                raise NotAuthenticated("the token is invalid or has been revoked")
            raise NotAuthenticated("sign in first: send Authorization: Bearer <token>")
        return self.viewer_id

    def require_session(self) -> TokenSession:
        """The session of this request's token, or UNAUTHENTICATED."""
        self.require_viewer()
        assert self.session is not None
        return self.session


Info = StrawberryInfo[Context, None]
