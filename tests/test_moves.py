"""Online moves of a logical shard between physical servers (serial: they move data)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from backend import runtime
from backend.accounts.models import Profile
from backend.shards import db, routing, topology
from backend.shards.ids import schema_name, shard_of

pytestmark = pytest.mark.serial
PROFILE = Profile._meta.db_table
ROOT = Path(__file__).resolve().parent.parent


def _move(logical: int, target: str) -> dict:
    out = StringIO()
    call_command("shards", "move", "--logical", str(logical), "--to", target, "--json", stdout=out)
    return json.loads(out.getvalue())


async def _ainsert(logical: int, tag: str) -> int:
    rows = await routing.aquery(
        logical,
        f'INSERT INTO {{schema}}."{PROFILE}" (full_name, bio, is_private) '
        "VALUES ('', %s, false) RETURNING user_id",
        [tag],
    )
    return int(rows[0]["user_id"])


def _insert(logical: int, tag: str) -> int:
    return runtime.run(_ainsert(logical, tag))


def _other(server: str) -> str:
    return next(s for s in db.servers() if s != server)


def test_move_under_concurrent_reads_and_writes_loses_nothing(unique):
    shard_map = runtime.run(topology.refresh(force=True))
    logical = shard_map.shards_on("shard1")[4]
    source, target = "shard1", _other("shard1")
    before = [_insert(logical, unique) for _ in range(200)]
    written: list[int] = list(before)
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []
    write_latency: list[float] = []
    reads = [0]

    # Each client thread is a process of its own: one loop, one runtime.
    async def writer() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                new_id = await _ainsert(logical, unique)
            except BaseException as exc:
                errors.append(exc)
                return
            write_latency.append(time.monotonic() - started)
            with lock:
                written.append(new_id)

    async def reader() -> None:
        while not stop.is_set():
            with lock:
                expected = set(written)
            try:
                rows = await routing.afetch_many(Profile, "user_id", expected)
            except BaseException as exc:
                errors.append(exc)
                return
            found = {int(r["user_id"]) for r in rows}
            if not expected <= found:
                errors.append(AssertionError(f"read missed {len(expected - found)} rows"))
                return
            reads[0] += 1
            await asyncio.sleep(0)

    threads = [threading.Thread(target=runtime.run, args=(writer(),)) for _ in range(3)]
    threads += [threading.Thread(target=runtime.run, args=(reader(),)) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        report = _move(logical, target)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors[:3]
    assert report["source"] == source and report["target"] == target
    assert report["write_pause_seconds"] < 5
    assert max(write_latency) < 10
    assert reads[0] > 5
    assert len(written) > len(before) + 20  # writes went on during the move

    schema = schema_name(logical)
    assert not runtime.run(
        db.aexecute(source, "SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
    )
    rows = runtime.run(
        db.aexecute(target, f'SELECT user_id FROM {schema}."{PROFILE}" WHERE bio = %s', [unique])
    )
    stored = [int(r["user_id"]) for r in rows]
    assert sorted(stored) == sorted(written)  # every write exactly once, on the new server
    assert runtime.run(topology.refresh(force=True)).server_of(logical) == target

    # New IDs on the new server keep increasing past every ID minted before.
    assert _insert(logical, unique) > max(written)
    out = StringIO()
    call_command("shards", "check", "--json", stdout=out)
    assert json.loads(out.getvalue())["ok"] is True

    total = runtime.run(db.aexecute(target, f'SELECT count(*) AS n FROM {schema}."{PROFILE}"'))[0][
        "n"
    ]
    back = _move(logical, source)
    assert back["rows"][PROFILE] == total


CHILD = """
import os, sys, time, django
django.setup()
import asyncio
from backend import runtime
from backend.shards import topology
logical, target = int(sys.argv[1]), sys.argv[2]

async def main():
    print((await topology.aget_map()).server_of(logical), flush=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen = (await topology.aget_map()).server_of(logical)
        if seen == target:
            print(seen, flush=True)
            return 0
        await asyncio.sleep(0.05)
    return 1

sys.exit(runtime.run(main()))
"""


def test_map_cache_in_another_process_sees_a_move():
    shard_map = runtime.run(topology.refresh(force=True))
    logical = shard_map.shards_on("shard2")[6]
    target = _other("shard2")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(logical), target],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "shard2"
        _move(logical, target)
        moved_at = time.monotonic()
        assert child.wait(timeout=30) == 0
        seen_after = time.monotonic() - moved_at
        assert child.stdout.read().strip() == target
        assert seen_after < topology.MAP_CHECK_SECONDS + 2
    finally:
        child.kill()
        _move(logical, "shard2")


def test_check_reports_a_stray_copy():
    shard_map = runtime.run(topology.refresh(force=True))
    logical = shard_map.shards_on("shard1")[8]
    schema = schema_name(logical)
    stray_on = _other("shard1")
    runtime.run(db.aexecute(stray_on, f"CREATE SCHEMA {schema}"))
    try:
        out = StringIO()
        with pytest.raises(CommandError):
            call_command("shards", "check", "--json", stdout=out)
        problems = json.loads(out.getvalue())["problems"]
        assert problems == [f"{schema}: stray copy on {stray_on} (the map says shard1)"]
    finally:
        runtime.run(db.aexecute(stray_on, f"DROP SCHEMA {schema} CASCADE"))


def test_a_failed_move_leaves_the_source_serving(unique, monkeypatch):
    shard_map = runtime.run(topology.refresh(force=True))
    logical = shard_map.shards_on("shard1")[10]
    kept = _insert(logical, unique)
    from backend.shards import moves

    async def broken_set_placement(*args, **kwargs):
        raise RuntimeError("directory went away")

    monkeypatch.setattr(moves.topology, "set_placement", broken_set_placement)
    with pytest.raises(RuntimeError):
        runtime.run(moves.move_shard(logical, _other("shard1")))
    monkeypatch.undo()
    assert runtime.run(topology.refresh(force=True)).server_of(logical) == "shard1"
    assert not runtime.run(
        db.aexecute(
            _other("shard1"),
            "SELECT 1 FROM pg_namespace WHERE nspname = %s",
            [schema_name(logical)],
        )
    )
    assert shard_of(_insert(logical, unique)) == logical
    rows = runtime.run(routing.afetch_many(Profile, "user_id", [kept]))
    assert [int(r["user_id"]) for r in rows] == [kept]
