"""ASGI entry point: gunicorn runs it with uvicorn workers."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

application = get_asgi_application()
