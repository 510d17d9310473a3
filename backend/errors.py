"""Errors the product reports to clients, each with a stable code.

Services raise these; the GraphQL layer turns them into errors whose
`extensions.code` is the class's `code`. Anything else is masked.
"""

from __future__ import annotations


class AppError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(AppError):
    code = "BAD_USER_INPUT"


class NotAuthenticated(AppError):
    code = "UNAUTHENTICATED"


class Forbidden(AppError):
    code = "FORBIDDEN"


class NotFound(AppError):
    code = "NOT_FOUND"


class RateLimited(AppError):
    code = "RATE_LIMITED"


class QueryTooComplex(AppError):
    code = "QUERY_TOO_COMPLEX"


class Unavailable(AppError):
    code = "UNAVAILABLE"
