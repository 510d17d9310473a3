"""The typed per-request context: viewer, token, session and the request's loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from backend.accounts.selectors import TokenSession
from backend.errors import NotAuthenticated
from backend.graph.loaders import BaseLoader

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
