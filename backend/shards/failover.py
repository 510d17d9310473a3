"""Failover of one physical shard server, or of the directory, to its hot standby.

`manage.py shards failover --server NAME` (`--server directory`: below):

1. fences the old primary if it still answers (read-only, its sessions
   ended); a primary that is down is fenced by what follows, and by the
   stack, which never starts it as a primary again (scripts/stack.sh
   rebuilds it as the new standby from a base backup);
2. promotes the standby (`pg_promote`), and lets its commits stop waiting
   for a synchronous standby it does not have yet;
3. repoints the server's PgBouncer (its databases file, then RELOAD): the
   app's pools keep their connections to PgBouncer, whose server connections
   to the old primary close and whose new ones go to the new primary;
4. swaps primary and standby in the directory's endpoint registry and bumps
   the shard map's version in the same transaction, so every process sends
   its direct connections (LISTEN, moves, migrations) to the new primary
   with its next map check, within a second.

Each step can be run again: a rerun after a failure part-way finds the
standby promoted and finishes the rest.

Synchronous replication is what makes it lose nothing acknowledged: a commit
is answered only once the standby has flushed it, and a promotion replays
everything flushed. docs/decisions/0064-failover.md.

The directory holds the registry, so it cannot record its own primary there.
Its direct URL names both instances with `target_session_attrs=read-write`
(DIRECTORY_DIRECT_DATABASE_URL), and libpq connects to whichever takes
writes: the fenced old primary refuses them, a rebuilt one is in recovery.
Its failover finds which instance is the standby by asking them, then fences,
promotes and repoints PgBouncer as above. docs/decisions/0071-directory-failover.md.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from django.conf import settings
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from backend import runtime
from backend.shards import db, topology
from backend.shards.db import Row

CONNECT_SECONDS = 3
PROMOTE_SECONDS = 60


class FailoverError(RuntimeError):
    pass


@dataclass
class FailoverReport:
    server: str
    old_primary: str
    new_primary: str
    fenced: str  # "read-only" (it answered) or "unreachable"
    promoted: bool  # False: the standby had been promoted already (a rerun)
    replayed_lsn: str
    map_version: int | None  # None: the directory (no registry entry, no map change)
    generation: int | None
    pgbouncer: str
    seconds: float
    next_steps: list[str] = field(default_factory=list)


def _address(url: str) -> str:
    parts = conninfo_to_dict(url)
    return f"{parts.get('host', '')}:{parts.get('port', 5432)}"


async def _connect(url: str) -> psycopg.AsyncConnection[Row]:
    return await psycopg.AsyncConnection.connect(
        make_conninfo(url, connect_timeout=CONNECT_SECONDS),
        autocommit=True,
        row_factory=psycopg.rows.dict_row,
    )


async def _fence(url: str) -> str:
    """Make the old primary refuse writes if it answers; its sessions end.
    (A commit there would wait for its synchronous standby, which is about
    to be promoted, so none could be acknowledged anyway.)"""
    try:
        conn = await _connect(url)
    except psycopg.OperationalError:
        return "unreachable"
    async with conn:
        cur = await conn.execute("SELECT pg_is_in_recovery() AS standby")
        row = await cur.fetchone()
        if row and row["standby"]:
            return "read-only"  # a standby already: takes no writes
        await conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        await conn.execute("SELECT pg_reload_conf()")
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
    return "read-only"


async def _standby(url: str) -> psycopg.AsyncConnection[Row]:
    """A connection to the standby, refused before anything is fenced if it
    cannot take over: fencing the primary with nothing to promote would stop
    every write to the server."""
    try:
        conn = await _connect(url)
    except psycopg.OperationalError as exc:
        raise FailoverError(f"the standby {_address(url)} does not answer: {exc}") from exc
    cur = await conn.execute(
        "SELECT pg_is_in_recovery() AS standby, "
        "current_setting('default_transaction_read_only') = 'on' AS fenced"
    )
    row = await cur.fetchone()
    if row and not row["standby"] and row["fenced"]:
        await conn.close()
        raise FailoverError(
            f"{_address(url)} is a fenced old primary, not a standby: rebuild it first "
            "(scripts/stack.sh servers)"
        )
    return conn


async def _promote(conn: psycopg.AsyncConnection[Row]) -> tuple[bool, str]:
    """Promote the standby; returns (promoted now, last replayed LSN)."""
    cur = await conn.execute(
        "SELECT pg_is_in_recovery() AS standby, "
        "coalesce(pg_last_wal_replay_lsn(), pg_current_wal_lsn())::text AS lsn"
    )
    row = await cur.fetchone()
    assert row is not None
    promoted = bool(row["standby"])
    if promoted:
        cur = await conn.execute("SELECT pg_promote(true, %s) AS done", [PROMOTE_SECONDS])
        done = await cur.fetchone()
        if not done or not done["done"]:
            raise FailoverError(f"{conn.info.host}:{conn.info.port} did not finish promoting")
    # No standby follows it yet: with one still named, every commit would
    # wait for it forever. The stack names it again once the old primary
    # has been rebuilt as its standby.
    await conn.execute("ALTER SYSTEM SET synchronous_standby_names = ''")
    await conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
    await conn.execute("SELECT pg_reload_conf()")
    return promoted, str(row["lsn"])


async def _swap(server: str, old: topology.Endpoint) -> tuple[int, int]:
    """The registry: the standby is the primary now, the old primary its
    (future) standby; the map's version moves with it. Returns (version,
    generation)."""
    async with db.aconnection(db.DIRECTORY) as conn, conn.transaction():
        cur = await conn.execute(
            f'UPDATE "{topology.ENDPOINTS}" SET "primary" = %s, standby = %s, '
            "generation = generation + 1, updated_at = now() "
            "WHERE server = %s AND generation = %s RETURNING generation",
            [old.standby, old.primary, server, old.generation],
        )
        row = await cur.fetchone()
        if row is None:
            raise FailoverError(f"{server}'s endpoints changed meanwhile: another failover?")
        cur = await conn.execute(
            f'UPDATE "{topology.VERSION}" SET version = version + 1 WHERE id = 1 RETURNING version'
        )
        version = await cur.fetchone()
        assert version is not None
    return int(version["version"]), int(row["generation"])


DIRECTORY_NAME = "directory"  # the directory's name for operators and the stack


def _name(server: str) -> str:
    return DIRECTORY_NAME if server == db.DIRECTORY else server


def _databases_file(server: str) -> Path | None:
    folder = str(settings.PGBOUNCER_CONFIG_DIR)
    return Path(folder) / f"pgbouncer-{_name(server)}-databases.ini" if folder else None


_ROUTE = re.compile(r"^(?P<name>\S+)(?P<eq>\s*=\s*)(?P<spec>.*)$")
_HOST = re.compile(r"\bhost=(\S+)")
_PORT = re.compile(r"\bport=(\d+)")


def _route(line: str) -> re.Match[str] | None:
    """A database line of a PgBouncer databases file (name = spec), else None."""
    if line.lstrip().startswith((";", "#", "[")):
        return None
    return _ROUTE.match(line)


def _pgbouncer_target(server: str) -> str | None:
    """Where `server`'s PgBouncer sends its main route now ("host:port")."""
    path = _databases_file(server)
    if path is None or not path.exists():
        return None
    for line in path.read_text().splitlines():
        if match := _route(line):
            host, port = _HOST.search(match["spec"]), _PORT.search(match["spec"])
            return f"{host[1] if host else ''}:{port[1] if port else 5432}"
    return None


def repoint_pgbouncer(server: str, primary_url: str) -> str:
    """Send every database of `server`'s PgBouncer (main, nested and replica
    pools) to `primary_url`'s host and port, then RELOAD it. The replica route
    goes to the primary too: the old primary is no standby until rebuilt."""
    path = _databases_file(server)
    if path is None:
        return "not managed here (PGBOUNCER_CONFIG_DIR is empty): repoint it by hand"
    target = conninfo_to_dict(primary_url)
    host, port = str(target.get("host", "127.0.0.1")), str(target.get("port", 5432))
    lines = []
    for line in path.read_text().splitlines():
        if match := _route(line):
            spec = _HOST.sub(f"host={host}", match["spec"])
            spec = _PORT.sub(f"port={port}", spec)
            line = f"{match['name']}{match['eq']}{spec}"
        lines.append(line)
    tmp = path.with_suffix(".ini.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.chmod(tmp, 0o644)  # PgBouncer runs as another user
    os.replace(tmp, path)
    admin = make_conninfo(db.conninfo(server), dbname="pgbouncer", connect_timeout=CONNECT_SECONDS)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("RELOAD")
    return f"{path.name} -> {host}:{port}, reloaded"


async def failover(server: str, progress: Callable[[str], None] = lambda _: None) -> FailoverReport:
    """Promote `server`'s standby and point everything at it."""
    started = time.monotonic()
    if server in {DIRECTORY_NAME, db.DIRECTORY}:
        return await _failover_directory(started, progress)
    if server not in db.servers():
        known = ", ".join([DIRECTORY_NAME, *db.servers()])
        raise FailoverError(f"unknown server {server!r} (known: {known})")
    async with db.aconnection(db.DIRECTORY) as conn:
        registry = await topology.read_endpoints(conn)
    old = registry.get(server)
    if old is None:
        raise FailoverError("the endpoint registry is empty: run `manage.py migrate_shards`")
    if not old.standby:
        raise FailoverError(f"{server} has no standby (SHARD_STANDBY_DATABASE_URLS)")
    # PgBouncer first: if the registry update then fails, a rerun finds the
    # standby promoted and finishes the job.
    taken = await _take_over(server, old.primary, old.standby, progress)
    progress("updating the endpoint registry")
    version, generation = await _swap(server, old)
    await topology.refresh(force=True)
    return _report(server, taken, started, map_version=version, generation=generation)


def directory_instances() -> list[str]:
    """The directory's instances, one URL each, from its direct URL's hosts."""
    url = db.direct_conninfo(db.DIRECTORY)
    parts = conninfo_to_dict(url)
    hosts = str(parts.get("host", "127.0.0.1")).split(",")
    ports = str(parts.get("port", "5432")).split(",")
    if len(ports) == 1:
        ports = ports * len(hosts)
    base = {k: v for k, v in parts.items() if k not in {"host", "port", "target_session_attrs"}}
    return [make_conninfo("", **base, host=h, port=p) for h, p in zip(hosts, ports, strict=True)]


async def _state(url: str) -> str:
    """What the instance at `url` is: standby, primary, fenced (a primary
    refusing writes) or down."""
    try:
        conn = await _connect(url)
    except psycopg.OperationalError:
        return "down"
    async with conn:
        cur = await conn.execute(
            "SELECT pg_is_in_recovery() AS standby, "
            "current_setting('default_transaction_read_only') = 'on' AS fenced"
        )
        row = await cur.fetchone()
    assert row is not None
    return "standby" if row["standby"] else "fenced" if row["fenced"] else "primary"


async def _failover_directory(started: float, progress: Callable[[str], None]) -> FailoverReport:
    instances = directory_instances()
    if len(instances) != 2:
        raise FailoverError(
            "the directory's direct URL names one instance: list its primary and standby "
            "(DIRECTORY_DIRECT_DATABASE_URL=postgresql://u@host1:port1,host2:port2/db"
            "?target_session_attrs=read-write)"
        )
    states = [await _state(url) for url in instances]
    if "standby" in states:
        new = states.index("standby")
    elif sorted(states) == ["fenced", "primary"] or (
        # Promoted by a run that stopped before PgBouncer was repointed (and
        # the old primary is down); not a healthy primary whose standby is down.
        sorted(states) == ["down", "primary"]
        and _pgbouncer_target(db.DIRECTORY) != _address(instances[states.index("primary")])
    ):
        new = states.index("primary")
    else:
        found = ", ".join(f"{_address(u)} {st}" for u, st in zip(instances, states, strict=True))
        raise FailoverError(f"the directory's instances are {found}: no standby to promote")
    taken = await _take_over(db.DIRECTORY, instances[1 - new], instances[new], progress)
    return _report(DIRECTORY_NAME, taken, started, map_version=None, generation=None)


@dataclass
class _TakeOver:
    old_url: str
    new_url: str
    fenced: str
    promoted: bool
    lsn: str
    pgbouncer: str


async def _take_over(
    server: str, old_url: str, new_url: str, progress: Callable[[str], None]
) -> _TakeOver:
    """Check the standby at `new_url`, fence `old_url`, promote, then repoint
    `server`'s PgBouncer at the new primary."""
    async with await _standby(new_url) as standby:
        progress(f"fencing the old primary {_address(old_url)}")
        fenced = await _fence(old_url)
        progress(f"old primary {fenced}; promoting {_address(new_url)}")
        promoted, lsn = await _promote(standby)
    progress(f"promoted at {lsn}; repointing PgBouncer")
    pgbouncer = await runtime.in_thread(repoint_pgbouncer, server, new_url)
    return _TakeOver(old_url, new_url, fenced, promoted, lsn, pgbouncer)


def _report(
    name: str,
    taken: _TakeOver,
    started: float,
    *,
    map_version: int | None,
    generation: int | None,
) -> FailoverReport:
    return FailoverReport(
        server=name,
        old_primary=_address(taken.old_url),
        new_primary=_address(taken.new_url),
        fenced=taken.fenced,
        promoted=taken.promoted,
        replayed_lsn=taken.lsn,
        map_version=map_version,
        generation=generation,
        pgbouncer=taken.pgbouncer,
        seconds=round(time.monotonic() - started, 2),
        next_steps=[
            f"{name} runs without a standby: rebuild the old primary as its standby "
            "(scripts/stack.sh servers does it from a base backup) before the next failure",
        ],
    )
