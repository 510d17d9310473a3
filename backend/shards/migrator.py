"""Creating and migrating the logical shard schemas.

The sharded tables are ordinary Django models (marked @sharded) with ordinary
migrations. For each logical schema we point a Django connection to its
physical server at that schema (search_path) and run Django's migration
executor there, so each schema has its own `django_migrations` table: a run
that is interrupted resumes where it stopped, and a second run does nothing.

A schema with no migration applied yet (every schema of a new stack) does
not go through the executor one migration at a time: the plan's SQL is
collected once per server (as `sqlmigrate` does), then run in each new
schema in one transaction with the plan recorded as applied. The executor
renders Django's model state for every operation of every migration; on
512 schemas that was most of `make up`'s time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connections, transaction
from django.db.migrations import Migration
from django.db.migrations.executor import MigrationExecutor
from psycopg.conninfo import conninfo_to_dict

from backend.shards import db, outbox
from backend.shards.ids import schema_name
from backend.shards.registry import SHARDED_LABELS
from backend.shards.sql import id_functions_sql
from backend.shards.topology import ShardMap

Progress = Callable[[int], None]
Plan = tuple[Migration, bool]


def sharded_apps() -> set[str]:
    return {label.split(".", 1)[0] for label in SHARDED_LABELS}


def migration_targets(executor: MigrationExecutor) -> list[tuple[str, str]]:
    apps = sharded_apps()
    return sorted(key for key in executor.loader.graph.leaf_nodes() if key[0] in apps)


def expected_state() -> set[tuple[str, str]]:
    """Every (app, migration) of the sharded apps, as a migrated schema records it."""
    executor = MigrationExecutor(connection=None)
    apps = sharded_apps()
    return {key for key in executor.loader.graph.nodes if key[0] in apps}


def migrate_schema(server: str, logical: int) -> int:
    """Create/upgrade schema shard_NNNN on `server`; returns migrations applied."""
    schema = schema_name(logical)
    conn = connections[server]
    conn.ensure_connection()
    with conn.cursor() as cur:
        cur.execute(outbox.CREATE_SQL)
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        cur.execute(f"SET search_path TO {schema}")
        cur.execute(id_functions_sql(schema, logical))
    try:
        executor = MigrationExecutor(conn)
        targets = migration_targets(executor)
        plan = executor.migration_plan(targets)
        if plan and not executor.loader.applied_migrations:
            _create_fresh(server, executor, plan)
        elif plan:
            executor.migrate(targets, plan=plan)
        return len(plan)
    finally:
        with conn.cursor() as cur:
            cur.execute("SET search_path TO public")


_fresh_sql: dict[tuple[str, tuple[tuple[str, str], ...]], list[str]] = {}
_fresh_lock = threading.Lock()


def _create_fresh(server: str, executor: MigrationExecutor, plan: list[Plan]) -> None:
    """Run the whole plan's SQL in a schema that has none of it yet."""
    key = (server, tuple((m.app_label, m.name) for m, _ in plan))
    with _fresh_lock:
        statements = _fresh_sql.get(key)
        if statements is None:
            # collect_sql: what `sqlmigrate` prints (not in django-stubs).
            statements = _fresh_sql[key] = executor.loader.collect_sql(plan)  # type: ignore[attr-defined]
    with transaction.atomic(using=server):
        with executor.connection.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
        executor.recorder.ensure_schema()
        for migration, _ in plan:
            executor.recorder.record_applied(migration.app_label, migration.name)


def _use_primary(server: str) -> None:
    """Django's connection to `server` goes to its current primary (the
    endpoint registry's, after a failover), not the one the settings name."""
    where = conninfo_to_dict(db.direct_conninfo(server))
    alias = connections.settings[server]
    alias["HOST"] = str(where.get("host", alias["HOST"]))
    alias["PORT"] = str(where.get("port", alias["PORT"]))


def migrate_all(shard_map: ShardMap, progress: Progress | None = None) -> dict[str, int]:
    """Migrate every logical schema, one thread per physical server."""
    applied: dict[str, int] = {}
    lock = threading.Lock()

    def run(server: str) -> None:
        total = 0
        try:
            for logical in shard_map.shards_on(server):
                total += migrate_schema(server, logical)
                if progress:
                    with lock:
                        progress(1)
        finally:
            connections[server].close()
        applied[server] = total

    servers = sorted(set(shard_map.placement))
    for server in servers:
        _use_primary(server)
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        for future in [pool.submit(run, s) for s in servers]:
            future.result()
    return applied
