"""Counting SQL statements per database alias, for query-count tests and benches.

`count_statements()` opens a scope; every statement issued inside it (by the
Django ORM on any alias, or by backend.shards.db on a physical shard server)
is added to the scope's Counter, including from child asyncio tasks and
child tasks, which inherit the context.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

_scope: ContextVar[Counter[str] | None] = ContextVar("statement_scope", default=None)


def record(alias: str, n: int = 1) -> None:
    counter = _scope.get()
    if counter is not None:
        counter[alias] += n


@contextlib.contextmanager
def count_statements() -> Iterator[Counter[str]]:
    counter: Counter[str] = Counter()
    token = _scope.set(counter)
    try:
        yield counter
    finally:
        _scope.reset(token)


def _django_wrapper(alias: str) -> Callable[..., Any]:
    def wrapper(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        record(alias)
        return execute(sql, params, many, context)

    return wrapper


def _on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    connection.execute_wrappers.append(_django_wrapper(connection.alias))


def install() -> None:
    connection_created.connect(_on_connection_created, dispatch_uid="shards.stats")
