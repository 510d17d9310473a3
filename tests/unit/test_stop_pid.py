"""`stop_pid` (scripts/lib.sh), which `make down` stops every server with,
against real processes: scripts/supervise.sh over a child that ignores TERM
and has a child of its own, the way a Dramatiq worker whose loop is stuck
sits under Dramatiq's main process. Before, the supervisor was KILLed after
15 s and the two below it lived on as orphans."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.frontier import descendants, running

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent.parent
# A stubborn child: ignores TERM, and keeps a grandchild that ignores it too.
STUBBORN = "trap '' TERM; (trap '' TERM; sleep 600) & sleep 600 & wait"


def test_stop_pid_kills_what_a_stuck_supervised_process_leaves(tmp_path: Path) -> None:
    pidfile, childfile = tmp_path / "stubborn.pid", tmp_path / "stubborn.child.pid"
    supervisor = subprocess.Popen(
        [str(ROOT / "scripts" / "supervise.sh"), str(childfile), "bash", "-c", STUBBORN],
        start_new_session=True,  # as the stack's spawn does: not in pytest's group
        stderr=subprocess.DEVNULL,
    )
    pidfile.write_text(f"{supervisor.pid}\n")
    deadline = time.monotonic() + 10
    while len(descendants(supervisor.pid) - {supervisor.pid}) < 3:  # bash, two sleeps
        assert time.monotonic() < deadline, "the supervised tree did not start"
        time.sleep(0.05)
    below = sorted(descendants(supervisor.pid) - {supervisor.pid})
    try:
        started = time.monotonic()
        subprocess.run(
            [
                "bash",
                "-c",
                f'source "{ROOT}/scripts/lib.sh"; stop_pid "$1" supervise.sh stubborn',
                "stop",
                str(pidfile),
            ],
            env={**os.environ, "STOP_SECONDS": "2"},
            check=True,
            capture_output=True,
        )
        took = time.monotonic() - started
        supervisor.wait(10)
        deadline = time.monotonic() + 5
        while any(running(p) for p in below) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [p for p in below if running(p)] == [], "processes outlived stop_pid"
        assert not pidfile.exists()
        assert 2 <= took < 10, took
    finally:
        for pid in [supervisor.pid, *below]:
            if running(pid):
                os.kill(pid, 9)
