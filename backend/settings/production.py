"""Production: same variables, stricter checks."""

from backend.settings.base import *  # noqa: F403
from backend.settings.env import env, env_bool, env_int

if env("SECRET_KEY") == "dev-only-insecure-key":
    raise RuntimeError("SECRET_KEY must be set in production")

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS")
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# The API's host is HTTPS-only for good: browsers may know it before a first visit.
SECURE_HSTS_PRELOAD = True

# Nothing in production helps a stranger map the API: no GraphiQL, no
# introspection, no "did you mean" in validation errors.
GRAPHIQL = False
GRAPHQL_INTROSPECTION = False
GRAPHQL_FIELD_SUGGESTIONS = False
