"""Production: same variables, stricter checks."""

from backend.settings.base import *  # noqa: F403
from backend.settings.env import env

if env("SECRET_KEY") == "dev-only-insecure-key":
    raise RuntimeError("SECRET_KEY must be set in production")

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
