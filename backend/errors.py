"""Errors the product reports to clients, each with a stable code.

Services raise these; the GraphQL layer turns them into errors whose
`extensions.code` is the class's `code`. Anything else is masked.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class AppError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        # Added to the error's `extensions` next to `code`.
        self.extensions = extensions


class InvalidInput(AppError):
    code = "BAD_USER_INPUT"


class NotAuthenticated(AppError):
    code = "UNAUTHENTICATED"


class Forbidden(AppError):
    code = "FORBIDDEN"


class NotFound(AppError):
    code = "NOT_FOUND"


class RateLimited(AppError):
    """`retry_after`: whole seconds until the request would be allowed."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retryAfter=retry_after)
        self.retry_after = retry_after


class QueryTooComplex(AppError):
    """`cost`: {requested, maximum} when the query's cost is what is too much."""

    code = "QUERY_TOO_COMPLEX"

    def __init__(self, message: str, *, cost: dict[str, int] | None = None) -> None:
        super().__init__(message, **({"cost": cost} if cost is not None else {}))


def is_request_error(error: GraphQLError) -> bool:
    """The request itself is at fault: a parse or validation error (no original
    error), or a variable graphql-core could not coerce to its type (a
    GraphQLError wrapped without a path: reported before execution starts).

    A GraphQLError *with* a path wraps something a resolver returned (say, a
    value an Int cannot represent): our bug, not the client's.
    """
    original = error.original_error
    return original is None or (isinstance(original, GraphQLError) and error.path is None)


class Unavailable(AppError):
    """What was asked lives on a server that cannot be reached now (down,
    restarting, failing over): try again later. The rest of the answer stands."""

    code = "UNAVAILABLE"

    def __init__(self, message: str = "a backend service is unavailable, try again") -> None:
        super().__init__(message)
