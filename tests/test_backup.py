"""`make backup` (scripts/stack.sh backup): a pgBackRest backup of every
PostgreSQL server, with WAL archived continuously between backups
(docs/decisions/0062-backups.md)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _stack(*args: str) -> str:
    return subprocess.run(
        [str(ROOT / "scripts" / "stack.sh"), "--profile", os.environ["STACK_PROFILE"], *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout


def _info(stanza: str) -> dict:
    conf = Path(os.environ["STACK_DIR"]) / "pg" / "pgbackrest.conf"
    out = subprocess.run(
        ["pgbackrest", f"--config={conf}", f"--stanza={stanza}", "info", "--output=json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)[0]


def test_a_backup_of_every_server_then_an_incremental_one_with_wal_archived() -> None:
    stanzas = [
        "directory",
        *(f"shard{i}" for i, _ in enumerate(os.environ["PG_SHARD_PORTS"].split(), 1)),
    ]
    first = json.loads(_stack("backup"))
    assert sorted(first) == sorted(stanzas)
    second = json.loads(_stack("backup", "incr"))
    for stanza in stanzas:
        assert second[stanza]["type"] == "incr"
        info = _info(stanza)
        assert info["status"]["message"] == "ok", info
        labels = [b["label"] for b in info["backup"]]
        assert second[stanza]["label"] == labels[-1]
        assert info["backup"][-1]["type"] == "incr"
        # Continuous archiving: the WAL from the full backup on is in the repository.
        archive = info["archive"][0]
        assert archive["min"] and archive["max"] and archive["max"] >= archive["min"]
