"""Stopping a physical shard server turns /readyz to 503, naming it (serial)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.frontier import running
from tests.shardutil import start_stopped_servers

pytestmark = pytest.mark.serial


def _stop_postgres(name: str) -> None:
    pid = int((Path(os.environ["STACK_DIR"]) / "run" / f"pg-{name}.pid").read_text().split()[0])
    os.kill(pid, signal.SIGINT)  # fast shutdown of the postmaster we started
    deadline = time.monotonic() + 30
    while running(pid):
        assert time.monotonic() < deadline, f"postgres {name} did not stop"
        time.sleep(0.1)


def test_readyz_names_a_stopped_shard_server(live_url):
    victim = os.environ["SHARD_DATABASE_URLS"].split(",")[-1].split("=")[0]
    _stop_postgres(victim)
    try:
        response = httpx.get(f"{live_url}/readyz", timeout=15)
        body = response.json()
        assert response.status_code == 503
        assert body["failed"] == [victim], body
        assert body["checks"][victim]["ok"] is False
        assert body["checks"]["directory"]["ok"] is True
    finally:
        start_stopped_servers()
    # PgBouncer tries a server that refused it again after server_login_retry
    # (1 s): ready again within a few seconds, with no restart of the app.
    deadline = time.monotonic() + 10
    while (response := httpx.get(f"{live_url}/readyz", timeout=15)).status_code != 200:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)
