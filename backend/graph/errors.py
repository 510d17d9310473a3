"""Turning exceptions into GraphQL errors with a stable `extensions.code`."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from graphql import GraphQLError
from psycopg_pool import PoolTimeout

from backend.errors import AppError, is_request_error
from backend.runtime import REDIS_UNAVAILABLE

log = logging.getLogger("backend.graph")

UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    PoolTimeout,
    ConnectionError,
    TimeoutError,
    *REDIS_UNAVAILABLE,
)


# graphql-core's words for the depth rule and the parser's token limit.
TOO_COMPLEX_MESSAGES = ("exceeds maximum operation depth", "tokens. Parsing aborted")


def format_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    out: dict[str, Any] = {"message": error.message}
    if error.path:
        out["path"] = error.path
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    extra: dict[str, Any] = {}
    if isinstance(original, AppError):
        out["message"] = original.message
        code = original.code
        extra = original.extensions
    elif is_request_error(error):
        too_big = any(s in error.message for s in TOO_COMPLEX_MESSAGES)
        code = "QUERY_TOO_COMPLEX" if too_big else "BAD_USER_INPUT"
    elif isinstance(original, UNAVAILABLE_ERRORS):
        out["message"] = "a backend service is unavailable, try again"
        code = "UNAVAILABLE"
    else:
        out["message"] = "internal server error"
        code = "INTERNAL_SERVER_ERROR"
    out["extensions"] = {"code": code, **extra}
    return out


def should_log(error: GraphQLError) -> bool:
    """Only our own failures: client errors (AppError, invalid requests) are not logged."""
    return not (isinstance(error.original_error, AppError) or is_request_error(error))
