"""Side effects of a change that has committed (caches, the photo map, feeds,
pushes, object deletes).

The change stands whatever happens to them: a failure is logged with its
traceback (and so reaches Sentry), never raised to the user who made the
change. What repairs each one is named where it is called (the photo map is
rebuilt by `rebuild_photo_map`, feeds by `rebuild_feeds`, stray objects are
unguessable and unreferenced; cached copies expire).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)


async def after_commit(step: Awaitable[object], what: str) -> None:
    """Await `step`; if it fails, log "<what> failed after commit" and go on."""
    try:
        await step
    except Exception:
        log.exception("%s failed after commit", what)
