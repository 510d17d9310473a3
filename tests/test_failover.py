"""Failover of a shard server, and of the directory, under write load loses
nothing acknowledged (serial: kills a primary by pid, promotes its standby,
then fails back).

Issue 18, item 3; docs/decisions/0064-failover.md, 0071-directory-failover.md. The load goes through
nginx and both app instances; the primary is killed with SIGKILL, the way a
machine dies, and `manage.py shards failover` is the real command.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from backend.accounts.models import ACCOUNT
from backend.shards import db, routing, topology
from backend.shards.ids import shard_of
from backend.social.models import COMMENT as COMMENT_TABLE
from tests.frontier import running
from tests.graphql import SIGN_UP, error_codes, gql
from tests.queues import drain
from tests.shardutil import start_stopped_servers
from tests.test_degraded_reads import PROFILE, _pid, _user_on
from tests.worlds import insert_photos

pytestmark = pytest.mark.serial

ROOT = Path(__file__).resolve().parent.parent
COMMENT = "mutation($id: ID!, $t: String!) { addComment(photoId: $id, text: $t) { id } }"
WRITERS = 4
ACKS_BEFORE_KILL = 20
ACKS_AFTER_FAILOVER = 20


@dataclass
class Load:
    acked: list[int] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    reads: int = 0
    failed_reads: list[dict[str, Any]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def edge(edge_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=edge_url, timeout=30) as c:
        yield c


async def _write(edge: httpx.AsyncClient, load: Load, photo: int, token: str, who: int) -> None:
    n = 0
    while not load.stop.is_set():
        n += 1
        body = await gql(edge, COMMENT, {"id": str(photo), "t": f"w{who}-{n}"}, token=token)
        if "errors" in body:
            load.codes.extend(error_codes(body))
            await asyncio.sleep(0.05)
        else:
            load.acked.append(int(body["data"]["addComment"]["id"]))


async def _read(edge: httpx.AsyncClient, load: Load, username: str, token: str) -> None:
    while not load.stop.is_set():
        body = await gql(edge, PROFILE, {"u": username}, token=token)
        load.reads += 1
        if "errors" in body or not body["data"]["user"]:
            load.failed_reads.append(body)
        await asyncio.sleep(0.02)


async def _until(what: str, check: Any, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def _failover(server: str) -> dict[str, Any]:
    returncode, out, err = await _run_failover(server)
    assert returncode == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


async def _run_failover(server: str) -> tuple[int | None, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "manage.py"),
        "shards",
        "failover",
        "--server",
        server,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode, out.decode(), err.decode()


async def _kill_and_fail_over(
    load: Load, tasks: list[asyncio.Task[None]], primary: str, server: str
) -> tuple[dict[str, Any], int]:
    """Once ACKS_BEFORE_KILL writes are acknowledged, SIGKILL the instance
    `primary` by pid, fail `server` over a second later with the real
    command, and wait for ACKS_AFTER_FAILOVER more; the load stops whatever
    happens. Returns the command's report and the writes acknowledged at
    the kill."""
    try:
        await _until("writes before the kill", lambda: len(load.acked) >= ACKS_BEFORE_KILL)
        pid = _pid(primary)
        os.kill(pid, signal.SIGKILL)
        await _until("the primary to die", lambda: not running(pid), 10)
        acked_at_kill = len(load.acked)
        await asyncio.sleep(1.0)  # the load meets the dead server

        report = await _failover(server)
        acked_at_failover = len(load.acked)
        await _until(
            "writes to resume after the failover",
            lambda: len(load.acked) >= acked_at_failover + ACKS_AFTER_FAILOVER,
            30,
        )
    finally:
        load.stop.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    # (a client that got anything but a GraphQL answer, a 502 say, stopped)
    assert [o for o in outcomes if o is not None] == []
    return report, acked_at_kill


async def _rebuild_and_fail_back(server: str, primary_port: int, standby_port: int) -> None:
    """The old primary never comes back as a primary: the stack rebuilds it as
    the new primary's synchronous standby. Then fail back (a switchover: the
    old primary answers, so it is fenced read-only first) and rebuild again,
    so the rest of the suite finds the stack as it was."""
    start_stopped_servers()
    assert _in_recovery(primary_port), "the old primary came back as a primary"
    assert _sync_standby(standby_port) == [("standby", "sync")]
    back = await _failover(server)
    assert back["fenced"] == "read-only" and back["new_primary"].endswith(f":{primary_port}")
    start_stopped_servers()
    assert _sync_standby(primary_port) == [("standby", "sync")]


@pytest.fixture
async def shard2_as_it_was() -> AsyncIterator[None]:
    """Whatever the test did before it failed, leave shard2 as the suite
    expects it: its first instance primary, the other its synchronous standby.
    (Later serial tests stop `pg-shard2` by name; with the roles left swapped
    they would stop the standby, and every commit on shard2 would wait for it
    for ever.) A test that passes has failed back itself: then only the
    server check runs, and finds everything up."""
    yield
    start_stopped_servers()  # a killed old primary comes back as the standby
    await topology.refresh(force=True)
    if _port_of(topology.endpoints()["shard2"].primary) != _port("PG_SHARD_PORTS", 1):
        await _failover("shard2")
        start_stopped_servers()


def _sync_standby(port: int) -> list[tuple[str, str]]:
    url = f"postgresql://photoshare@127.0.0.1:{port}/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT application_name, sync_state FROM pg_stat_replication")
        return [(str(a), str(s)) for a, s in rows.fetchall()]


def _in_recovery(port: int) -> bool:
    url = f"postgresql://photoshare@127.0.0.1:{port}/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        return bool(row and row[0])


def _port_of(url: str) -> int:
    return int(str(conninfo_to_dict(url)["port"]))


def _port(name: str, index: int) -> int:
    return int(os.environ[name].split()[index])


async def test_a_shard_primary_killed_under_write_load_fails_over_losing_nothing_acknowledged(
    live: httpx.AsyncClient, edge: httpx.AsyncClient, unique: str, shard2_as_it_was: None
) -> None:
    # Which instance is shard2's primary now (the suite fails back at the end,
    # but a stack kept from an interrupted run may have them the other way).
    await topology.refresh(force=True)
    endpoint = topology.endpoints()["shard2"]
    primary_port, standby_port = _port_of(endpoint.primary), _port_of(endpoint.standby)
    first = _port("PG_SHARD_PORTS", 1)
    primary_name = "pg-shard2" if primary_port == first else "pg-shard2-standby"
    assert {primary_port, standby_port} == {first, _port("PG_SHARD_STANDBY_PORTS", 1)}
    author = await _user_on(live, "shard2", f"fa{unique}")
    reader = await _user_on(live, "shard1", f"fr{unique}")
    neighbour = await _user_on(live, "shard1", f"fn{unique}")
    writers = [(await _user_on(live, "shard1", f"fw{unique}{n}"))["token"] for n in range(WRITERS)]
    [photo] = await insert_photos([int(author["user"]["id"])], 1)
    assert _sync_standby(primary_port) == [("standby", "sync")]

    load = Load()
    tasks = [
        asyncio.create_task(_write(edge, load, photo, token, n)) for n, token in enumerate(writers)
    ]
    tasks.append(
        asyncio.create_task(_read(edge, load, neighbour["user"]["username"], reader["token"]))
    )
    report, acked_at_kill = await _kill_and_fail_over(load, tasks, primary_name, "shard2")

    assert report["new_primary"] == f"127.0.0.1:{standby_port}", report
    assert report["old_primary"] == f"127.0.0.1:{primary_port}", report
    assert report["fenced"] == "unreachable" and report["promoted"] is True, report
    # Every comment the API acknowledged, before the kill and after, is on
    # the new primary (read through PgBouncer, which now points there).
    rows = await routing.aquery(
        shard_of(photo),
        f"SELECT id FROM {{schema}}.{COMMENT_TABLE} WHERE photo_id = %s",
        [photo],
    )
    present = {int(r["id"]) for r in rows}
    assert acked_at_kill >= ACKS_BEFORE_KILL
    assert set(load.acked) <= present, sorted(set(load.acked) - present)
    # While it was down, writes were refused as UNAVAILABLE, nothing else.
    assert set(load.codes) <= {"UNAVAILABLE"}, load.codes
    # Users on the other server never noticed.
    assert load.reads > 20 and load.failed_reads == [], load.failed_reads[:3]
    # The relays followed the primary (their LISTEN reconnects to it): the
    # comments' events are delivered.
    await drain()

    await _rebuild_and_fail_back("shard2", primary_port, standby_port)
    body = await gql(edge, COMMENT, {"id": str(photo), "t": "after"}, token=writers[0])
    assert "errors" not in body, body


@pytest.fixture
async def directory_as_it_was() -> AsyncIterator[None]:
    """As `shard2_as_it_was`, for the directory: its first instance primary."""
    yield
    start_stopped_servers()
    if _in_recovery(_port("PG_DIRECTORY_PORT", 0)):
        await _failover("directory")
        start_stopped_servers()


async def _sign_ups(edge: httpx.AsyncClient, load: Load, prefix: str) -> None:
    n = 0
    while not load.stop.is_set():
        n += 1
        username = f"{prefix}x{n}"
        body = await gql(edge, SIGN_UP, {"username": username, "password": "correct horse battery"})
        if "errors" in body:
            load.codes.extend(error_codes(body))
            await asyncio.sleep(0.05)
        else:
            load.acked.append(int(body["data"]["signUp"]["user"]["id"]))


async def test_the_directory_primary_killed_under_sign_ups_fails_over_losing_no_account(
    edge: httpx.AsyncClient, unique: str, directory_as_it_was: None
) -> None:
    """The directory (accounts, tokens, the shard map) has no registry entry
    of its own: its direct URL names both instances and libpq finds the one
    that takes writes; PgBouncer is repointed by the same command."""
    first, second = _port("PG_DIRECTORY_PORT", 0), _port("PG_DIRECTORY_STANDBY_PORT", 0)
    primary_port, standby_port = (second, first) if _in_recovery(first) else (first, second)
    primary_name = "pg-directory" if primary_port == first else "pg-directory-standby"
    assert _sync_standby(primary_port) == [("standby", "sync")]

    load = Load()
    tasks = [asyncio.create_task(_sign_ups(edge, load, f"dfo{unique}{n}")) for n in range(WRITERS)]
    report, _ = await _kill_and_fail_over(load, tasks, primary_name, "directory")

    assert report["server"] == "directory", report
    assert report["new_primary"] == f"127.0.0.1:{standby_port}", report
    assert report["old_primary"] == f"127.0.0.1:{primary_port}", report
    assert report["fenced"] == "unreachable" and report["promoted"] is True, report
    # Every account the API acknowledged is on the new primary.
    async with db.aconnection(db.DIRECTORY) as conn:
        cur = await conn.execute(f"SELECT id FROM {ACCOUNT} WHERE id = ANY(%s)", [load.acked])
        present = {int(r["id"]) for r in await cur.fetchall()}
    assert set(load.acked) <= present, sorted(set(load.acked) - present)
    assert set(load.codes) <= {"UNAVAILABLE"}, load.codes
    # Direct connections (LISTEN, migrations) follow: libpq picks the new primary.
    with psycopg.connect(db.direct_conninfo(db.DIRECTORY), autocommit=True) as conn:
        assert conn.info.port == standby_port

    # The old primary comes back as the new primary's synchronous standby;
    # then fail back (a switchover: the old primary answers and is fenced).
    await _rebuild_and_fail_back("directory", primary_port, standby_port)
    with psycopg.connect(db.direct_conninfo(db.DIRECTORY), autocommit=True) as conn:
        assert conn.info.port == primary_port
    body = await gql(
        edge, SIGN_UP, {"username": f"dfo{unique}after", "password": "correct horse battery"}
    )
    assert "errors" not in body, body


async def test_the_directory_failover_refuses_when_only_its_standby_is_down(
    directory_as_it_was: None,
) -> None:
    """A healthy primary whose standby is down is not "already promoted":
    the command changes nothing (it would have turned synchronous
    replication off on the primary) and says why."""
    first, second = _port("PG_DIRECTORY_PORT", 0), _port("PG_DIRECTORY_STANDBY_PORT", 0)
    primary_port, standby_port = (second, first) if _in_recovery(first) else (first, second)
    standby_name = "pg-directory-standby" if standby_port == second else "pg-directory"
    pid = _pid(standby_name)
    os.kill(pid, signal.SIGKILL)
    try:
        await _until("the standby to die", lambda: not running(pid), 10)
        returncode, out, err = await _run_failover("directory")
        assert returncode != 0 and out == "", (returncode, out)
        assert "no standby to promote" in err, err
        url = f"postgresql://photoshare@127.0.0.1:{primary_port}/postgres"
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SHOW synchronous_standby_names").fetchone()
        assert row is not None and row[0] != "", row
        assert not _in_recovery(primary_port)
    finally:
        start_stopped_servers()
    assert _sync_standby(primary_port) == [("standby", "sync")]
