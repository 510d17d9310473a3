"""Routing, batched reads, per-schema migrations and the shard CLI."""

from __future__ import annotations

import asyncio
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from backend import runtime
from backend.accounts.models import Profile
from backend.shards import routing, topology
from backend.shards.ids import decode_id, schema_name, shard_of
from backend.shards.migrator import migrate_schema
from backend.shards.stats import count_statements

PROFILE = Profile._meta.db_table


async def _amake_profiles(logicals: list[int], bio: str) -> list[int]:
    ids = []
    for logical in logicals:
        rows = await routing.aquery(
            logical,
            f'INSERT INTO {{schema}}."{PROFILE}" (full_name, bio, is_private) '
            "VALUES ('', %s, false) RETURNING user_id",
            [bio],
        )
        ids.append(int(rows[0]["user_id"]))
    return ids


def _make_profiles(logicals: list[int], bio: str) -> list[int]:
    return runtime.run(_amake_profiles(logicals, bio))


def test_map_places_every_logical_shard_on_a_known_server(settings):
    shard_map = runtime.run(topology.refresh(force=True))
    assert shard_map.logical_count == settings.LOGICAL_SHARDS
    assert set(shard_map.placement) == set(settings.SHARD_SERVERS)
    assert len(set(shard_map.placement)) >= 2


def test_rows_are_written_where_their_id_says(unique):
    shard_map = runtime.run(topology.refresh(force=True))
    logical = shard_map.shards_on("shard2")[2]
    [user_id] = _make_profiles([logical], unique)
    assert shard_of(user_id) == logical
    assert shard_map.server_of(shard_of(user_id)) == shard_map.server_of(logical)
    rows = runtime.run(routing.afetch_many(Profile, "user_id", [user_id]))
    assert [(r["user_id"], r["bio"]) for r in rows] == [(user_id, unique)]


@pytest.mark.parametrize("count", [5, 40, 120])
async def test_batched_read_is_one_statement_per_physical_server(unique, count):
    shard_map = await topology.arefresh()
    logicals = [i * 7 % shard_map.logical_count for i in range(count)]
    ids = await _amake_profiles(logicals, unique)
    servers = {shard_map.server_of(i) for i in logicals}
    assert len({shard_of(i) for i in ids}) > 1 and len(servers) == 2
    missing = [ids[0] + 1]  # same shard, no row
    with count_statements() as counter:
        rows = await routing.afetch_many(Profile, "user_id", ids + missing)
    assert sorted(int(r["user_id"]) for r in rows) == sorted(ids)
    assert {r["bio"] for r in rows} == {unique}
    assert counter == dict.fromkeys(servers, 1)


async def test_write_runs_in_one_transaction(unique):
    logical = 9

    async def two_rows_then_fail(conn, schema):
        await conn.execute(
            f'INSERT INTO {schema}."{PROFILE}" (full_name, bio, is_private) '
            "VALUES ('', %s, false)",
            [unique],
        )
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await routing.awrite(logical, two_rows_then_fail)
    rows = await routing.aquery(
        logical, f'SELECT 1 FROM {{schema}}."{PROFILE}" WHERE bio = %s', [unique]
    )
    assert rows == []


def test_migrate_shards_is_idempotent():
    out = StringIO()
    call_command("migrate_shards", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert sum(summary["migrations_applied"].values()) == 0
    assert summary["logical_shards"] == runtime.run(topology.refresh()).logical_count


def test_migrating_resumes_a_schema_left_half_done():
    # An interrupted run: schema created, nothing migrated yet. Use a schema
    # number beyond the map so no live shard is touched.
    logical = 8000
    server = "shard1"
    schema = schema_name(logical)
    with connections[server].cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        cur.execute(f"CREATE SCHEMA {schema}")
    try:
        applied = migrate_schema(server, logical)
        assert applied >= 1
        assert migrate_schema(server, logical) == 0
        with connections[server].cursor() as cur:
            cur.execute(f"SELECT {schema}.next_id()")
            assert shard_of(cur.fetchone()[0]) == logical
            cur.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename = %s",
                [schema, PROFILE],
            )
            assert cur.fetchone()[0] == 1
    finally:
        with connections[server].cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_shards_status_json_lists_servers_shards_and_rows():
    out = StringIO()
    call_command("shards", "status", "--json", stdout=out)
    status = json.loads(out.getvalue())
    shard_map = runtime.run(topology.refresh())
    assert len(status["servers"]) >= 2
    listed = sorted(i for s in status["servers"] for i in s["logical_shards"])
    assert listed == list(range(shard_map.logical_count))
    for server in status["servers"]:
        assert server["reachable"] is True
        assert server["rows"][PROFILE] >= 0


def test_shards_decode_round_trips(unique):
    [user_id] = _make_profiles([17], unique)
    out = StringIO()
    call_command("shards", "decode", str(user_id), stdout=out)
    decoded = json.loads(out.getvalue())
    expected = decode_id(user_id)
    assert decoded["shard"] == 17 == expected.shard
    assert decoded["sequence"] == expected.sequence
    assert decoded["id"] == str(user_id)
    assert decoded["server"] == runtime.run(topology.refresh()).server_of(17)
    with pytest.raises(CommandError):
        call_command("shards", "decode", "-3", stdout=StringIO())


def test_shards_check_finds_nothing_wrong():
    out = StringIO()
    call_command("shards", "check", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"ok": True, "problems": []}


def test_move_refuses_bad_requests():
    shard_map = runtime.run(topology.refresh(force=True))
    here = shard_map.server_of(3)
    with pytest.raises(CommandError, match="already on"):
        call_command("shards", "move", "--logical", "3", "--to", here, stdout=StringIO())
    with pytest.raises(CommandError, match="unknown server"):
        call_command("shards", "move", "--logical", "3", "--to", "nowhere", stdout=StringIO())


CATALOG = """
SELECT 'column', table_name, column_name || ' ' || data_type || ' ' || is_nullable
       || ' ' || coalesce(regexp_replace(column_default, 'shard_[0-9]+', 'S', 'g'), '')
  FROM information_schema.columns WHERE table_schema = %(s)s
UNION ALL
SELECT 'index', tablename, regexp_replace(indexdef, 'shard_[0-9]+', 'S', 'g')
  FROM pg_indexes WHERE schemaname = %(s)s
UNION ALL
SELECT 'constraint', regexp_replace(conrelid::regclass::text, 'shard_[0-9]+', 'S'),
       contype::text || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = %(s)s::regnamespace
UNION ALL
SELECT 'migration', app, name FROM {schema}.django_migrations
ORDER BY 1, 2, 3
"""


def test_a_fresh_schema_gets_what_the_migration_executor_would_make(monkeypatch):
    """New schemas run the plan's collected SQL (migrator._create_fresh); the
    tables, defaults, indexes, constraints and recorded migrations must be
    those that Django's executor makes one migration at a time."""
    from backend.shards import migrator

    server, fast, slow = "shard1", 8001, 8002
    catalogs = {}
    try:
        for logical in (fast, slow):
            with connections[server].cursor() as cur:
                cur.execute(f"DROP SCHEMA IF EXISTS {schema_name(logical)} CASCADE")
            if logical == slow:
                monkeypatch.setattr(
                    migrator,
                    "_create_fresh",
                    lambda s, executor, plan: executor.migrate(
                        migrator.migration_targets(executor), plan=plan
                    ),
                )
            assert migrate_schema(server, logical) >= 1
            schema = schema_name(logical)
            with connections[server].cursor() as cur:
                cur.execute(CATALOG.format(schema=schema), {"s": schema})
                rows = cur.fetchall()
            catalogs[logical] = [tuple(str(v).replace(schema, "S") for v in row) for row in rows]
        assert len(catalogs[fast]) > 50
        assert catalogs[fast] == catalogs[slow]
    finally:
        with connections[server].cursor() as cur:
            for logical in (fast, slow):
                cur.execute(f"DROP SCHEMA IF EXISTS {schema_name(logical)} CASCADE")


async def test_a_due_map_check_is_one_read_however_many_ask():
    await topology.arefresh()
    topology._checked_at = 0.0  # the check is due
    with count_statements() as counter:
        maps = await asyncio.gather(*(topology.aget_map() for _ in range(20)))
    assert counter["default"] == 1, counter
    assert len({m.version for m in maps}) == 1
