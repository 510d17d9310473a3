"""The base of management commands that use the runtime's connections."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from backend import runtime


class AsyncCommand(BaseCommand):
    """A command whose work is the coroutine `ahandle`.

    `handle` runs it on one event loop with the runtime open (one pool per
    server, Redis, Memcached) for the whole run, and closes all of it before
    the command exits, also when it fails.
    """

    def handle(self, *args: Any, **options: Any) -> None:
        runtime.run(self.ahandle(*args, **options))

    async def ahandle(self, *args: Any, **options: Any) -> None:
        raise NotImplementedError
