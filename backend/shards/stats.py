"""Counting SQL statements per database alias, for query-count tests and benches,
and for the metrics (photoshare_shard_statements_total and
..._statement_duration_seconds, by server: `observe`, called by the helpers
every statement of the runtime's pools goes through: db.aexecute and
routing's transaction connections).

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

from backend import metrics

_scope: ContextVar[Counter[str] | None] = ContextVar("statement_scope", default=None)


def record(alias: str, n: int = 1) -> None:
    counter = _scope.get()
    if counter is not None:
        counter[alias] += n


# Labelled children by server: `labels()` costs a lock and checks per call.
_children: dict[str, tuple[Any, Any]] = {}


def observe(server: str, seconds: float) -> None:
    """One statement on `server` took `seconds` (metrics only; `record` counts
    for the query-count scopes)."""
    children = _children.get(server)
    if children is None:
        children = _children[server] = (
            metrics.SHARD_STATEMENTS.labels(server),
            metrics.SHARD_STATEMENT_DURATION.labels(server),
        )
    children[0].inc()
    children[1].observe(seconds)


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
