"""Alerting: the rules as shipped pass promtool's checks and unit tests, and
on the running stack a stopped shard server pages (Prometheus → Alertmanager
→ the pager stand-in) while the external probe sees /readyz fail, and so
does a Redis replica that falls behind."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.frontier import RUN
from tests.shardutil import start_stopped_servers
from tests.test_readiness_outage import _stop_postgres
from tests.test_redis_durability import _redis, assert_replica_in_sync

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "prometheus"
DEADLINE = 60.0


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool not found (Debian's prometheus package; make up installs it)"
    return subprocess.run([tool, *args], capture_output=True, text=True, cwd=RULES)


def test_rules_pass_promtool_check_and_unit_tests():
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_stack_runs_the_rendered_config():
    config = Path(os.environ["STACK_DIR"]) / "monitoring" / "prometheus.yml"
    checked = promtool("check", "config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def pages() -> list[dict[str, Any]]:
    response = httpx.get(f"http://127.0.0.1:{os.environ['PAGER_PORT']}/alerts", timeout=10)
    response.raise_for_status()
    return [a for n in response.json()["notifications"] for a in n["alerts"]]


def firing(alertname: str, **labels: str) -> list[dict[str, Any]]:
    return [
        a
        for a in pages()
        if a["status"] == "firing"
        and a["labels"].get("alertname") == alertname
        and all(a["labels"].get(k) == v for k, v in labels.items())
    ]


async def wait_for_page(alertname: str, since: str, **labels: str) -> dict[str, Any]:
    end = time.monotonic() + DEADLINE
    while True:
        found = [a for a in firing(alertname, **labels) if a["startsAt"] >= since]
        if found:
            return found[0]
        assert time.monotonic() < end, f"no {alertname} {labels} page within {DEADLINE} s"
        await asyncio.sleep(0.5)


@pytest.mark.serial
async def test_a_stopped_shard_server_pages():
    victim = os.environ["SHARD_DATABASE_URLS"].split(",")[-1].split("=")[0]
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    _stop_postgres(victim)
    try:
        page = await wait_for_page("ShardServerDown", since, server=victim)
        assert page["labels"]["severity"] == "page"
        assert page["annotations"]["summary"] == f"PostgreSQL server {victim} is down"
        # The external probe of /readyz fails too (503 naming the server), and pages.
        await wait_for_page("ProbeFailing", since, job="probe_readyz")
        # Only the stopped server pages: the others are up.
        others = [
            a
            for a in firing("ShardServerDown")
            if a["startsAt"] >= since and a["labels"]["server"] != victim
        ]
        assert not others, others
    finally:
        start_stopped_servers()  # and waits until every pool serves again


@pytest.mark.serial
async def test_a_redis_replica_that_falls_behind_pages():
    """The replica paused by pid (SIGSTOP) while 36 MiB are written to the
    primary: RedisReplicaBehind pages (before the primary's repl-timeout
    drops the replica), and once resumed the replica catches up."""
    replica = int((RUN / "redis-replica.pid").read_text().split()[0])
    primary = _redis("REDIS_PORT")
    keys = [f"test:replica-behind:{uuid.uuid4().hex}:{n}" for n in range(36)]
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    os.kill(replica, signal.SIGSTOP)
    try:
        for key in keys:
            primary.set(key, os.urandom(1024 * 1024), ex=120)
        page = await wait_for_page("RedisReplicaBehind", since)
        assert page["labels"]["severity"] == "page"
        assert page["labels"]["slave_port"] == os.environ["REDIS_REPLICA_PORT"]
    finally:
        primary.delete(*keys)
        os.kill(replica, signal.SIGCONT)
    assert_replica_in_sync()
