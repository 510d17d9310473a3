"""`shards export --logical N`: one logical shard dumped from its server,
restorable elsewhere with pg_restore (docs/decisions/0062-backups.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg

from backend.shards import db
from backend.shards.exports import pg_tool
from backend.shards.ids import schema_name, shard_of
from tests.graphql import SIGN_UP
from tests.shardutil import placement

ROOT = Path(__file__).resolve().parent.parent


def test_an_exported_logical_shard_restores_into_another_database(
    live_url: str, unique: str, tmp_path: Path
) -> None:
    body = httpx.post(
        f"{live_url}/graphql",
        json={
            "query": SIGN_UP,
            "variables": {"username": f"ex{unique}", "password": "pw-pw-pw-pw"},
        },
        timeout=30,
    ).json()
    user_id = int(body["data"]["signUp"]["user"]["id"])
    logical = shard_of(user_id)
    output = tmp_path / "shard.dump"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "shards",
            "export",
            "--logical",
            str(logical),
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    assert report["schema"] == schema_name(logical)
    assert report["server"] == placement()[logical]
    assert report["bytes"] == output.stat().st_size > 0

    # Restore it into a scratch database on the other server.
    other = next(s for s in db.servers() if s != report["server"])
    scratch = f"restore_{unique}"
    with psycopg.connect(db.direct_conninfo(other), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {scratch}")
    try:
        target = psycopg.conninfo.make_conninfo(db.direct_conninfo(other), dbname=scratch)
        subprocess.run(
            [pg_tool("pg_restore"), "--no-owner", f"--dbname={target}", str(output)],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        with psycopg.connect(target) as conn:
            row = conn.execute(
                f'SELECT user_id FROM {schema_name(logical)}."social_profile" WHERE user_id = %s',
                [user_id],
            ).fetchone()
        assert row == (user_id,)
    finally:
        with psycopg.connect(db.direct_conninfo(other), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")
