"""`make restore-drill` on the test stack's small data set: every server's
latest backup plus archived WAL, restored to one point in time into scratch
clusters, answers the same GraphQL reads as the live stack did at that time
(serial: nothing else may write while the live answers are taken).
docs/decisions/0063-restore-drill.md."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.serial

ROOT = Path(__file__).resolve().parent.parent


def test_the_restore_drill_matches_the_live_answers() -> None:
    profile = os.environ["STACK_PROFILE"]
    subprocess.run(
        [str(ROOT / "scripts" / "stack.sh"), "--profile", profile, "backup"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    result = subprocess.run(
        [str(ROOT / "scripts" / "restore_drill.sh"), "--profile", profile, "--users", "10"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["matches"] is True, report
    assert report["users_compared"] == 10
    servers = [
        "directory",
        *(f"shard{i}" for i, _ in enumerate(os.environ["PG_SHARD_PORTS"].split(), 1)),
    ]
    assert sorted(report["restore_seconds"]) == sorted(servers)
