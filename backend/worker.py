"""Dramatiq entry point: `dramatiq backend.worker`.

Sets Django up, configures the Redis broker and imports every domain's
tasks module so their actors are registered.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")
django.setup()

import backend.notifications.tasks  # noqa: E402
import backend.photos.tasks  # noqa: E402
import backend.queue  # noqa: E402  (sets the broker)
import backend.social.tasks  # noqa: E402
import backend.tasks  # noqa: E402,F401  (registers the actors)
