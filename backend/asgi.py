"""ASGI entry point: gunicorn runs it with uvicorn workers."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

django_application = get_asgi_application()

from backend.limits import limit_request_body  # noqa: E402  (needs settings)

application = limit_request_body(django_application)
