"""The outbox relay as a process of its own: `python -m backend.relay [--once]`.

Every Dramatiq worker process already runs one (backend/worker.py); this is
for an operator who wants the outbox sent now (`--once`: until it is empty,
then exit) and for the tests that kill a relay mid-batch.
"""

from __future__ import annotations

import argparse
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")
django.setup()

from backend import runtime, worker  # noqa: E402,F401  (worker: registers every consumer)
from backend.shards import db, outbox  # noqa: E402


async def _once() -> None:
    for server in db.servers():
        sent = await outbox.drain(server)
        print(f"{server}: {sent} events relayed")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m backend.relay", description=__doc__)
    parser.add_argument("--once", action="store_true", help="relay what is there, then exit")
    args = parser.parse_args()
    runtime.run(_once() if args.once else outbox.relay_forever())


if __name__ == "__main__":
    main()
