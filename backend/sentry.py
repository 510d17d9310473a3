"""Error reporting to Sentry (when SENTRY_DSN is set), from web processes,
workers and commands alike: `init` is called once by the settings.

Integrations: Django, Strawberry (async: our view is Strawberry's ASGI app),
Dramatiq (a failing actor), logging (an ERROR record with a traceback). The
ASGI application is wrapped in Sentry's middleware by backend/asgi.py, so
each request has its own scope (the operation tag of one request never
lands on another's event).

What is never sent (docs/decisions/0052-sentry.md):
- client errors: an AppError (BAD_USER_INPUT, NOT_FOUND, RATE_LIMITED, ...)
  or a request GraphQL refuses (parse, validation, variables): the client's
  fault, answered with a code, not ours to fix;
- personal data and secrets: no default PII (no cookies, no Authorization
  header, no client IP), no request bodies (GraphQL variables carry
  passwords, multipart bodies photo bytes), no local variables of frames,
  no Dramatiq message arguments (device tokens), no log record arguments
  (the template only); Sentry's scrubber removes what looks like a token or
  password from what is left.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

from backend.errors import AppError, is_request_error

# Loggers whose errors an integration reports already, better: the GraphQL
# layer's unhandled resolver errors (Strawberry's, with the operation) and
# Dramatiq's failed messages (Dramatiq's, without the message's arguments,
# which its log line spells out).
IGNORED_LOGGERS = ("backend.graph", "dramatiq.worker.WorkerThread")


def is_client_error(exc: BaseException | None) -> bool:
    if isinstance(exc, AppError):
        return True
    if isinstance(exc, GraphQLError):
        return isinstance(exc.original_error, AppError) or is_request_error(exc)
    return False


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    exc_info = hint.get("exc_info")
    if exc_info and is_client_error(exc_info[1]):
        return None
    # A log record's arguments may be anything (a message, a token): only
    # the template is sent.
    logentry = event.get("logentry")
    if isinstance(logentry, dict) and logentry.get("message"):
        logentry.pop("params", None)
        logentry["formatted"] = logentry["message"]
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
    dramatiq = event.get("contexts", {}).get("dramatiq")
    if isinstance(dramatiq, dict) and isinstance(dramatiq.get("data"), dict):
        data = dramatiq["data"]
        dramatiq["data"] = {
            k: data[k] for k in ("queue_name", "actor_name", "message_id") if k in data
        }
    return event


def init(*, dsn: str, environment: str, sample_rate: float, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.dramatiq import DramatiqIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger
    from sentry_sdk.integrations.strawberry import StrawberryIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        sample_rate=sample_rate,
        traces_sample_rate=traces_sample_rate,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=before_send,  # type: ignore[arg-type]
        integrations=[
            DjangoIntegration(),
            StrawberryIntegration(async_execution=True),
            DramatiqIntegration(),
            # Breadcrumbs from warnings up: fewer log lines (and their
            # arguments) travel with an event.
            LoggingIntegration(level=logging.WARNING, event_level=logging.ERROR),
        ],
    )
    for name in IGNORED_LOGGERS:
        ignore_logger(name)
