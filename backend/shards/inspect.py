"""Read-only views of the shard fleet for `shards status` and `shards check`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from backend.shards import db, topology
from backend.shards.ids import schema_name
from backend.shards.migrator import expected_state


@dataclass
class ServerStatus:
    name: str
    reachable: bool
    logical_shards: list[int] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    error: str = ""


async def _schemas_on(server: str) -> set[str]:
    rows = await db.aexecute(
        server, r"SELECT nspname FROM pg_namespace WHERE nspname ~ '^shard_[0-9]{4}$'"
    )
    return {str(r["nspname"]) for r in rows}


async def _tables_on(server: str) -> dict[str, set[str]]:
    rows = await db.aexecute(
        server,
        r"SELECT schemaname, tablename FROM pg_tables WHERE schemaname ~ '^shard_[0-9]{4}$'",
    )
    out: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        out[str(r["schemaname"])].add(str(r["tablename"]))
    return out


async def server_status(shard_map: topology.ShardMap) -> list[ServerStatus]:
    """Each physical server with its logical shards and exact row counts per table."""
    result = []
    for server in db.servers():
        status = ServerStatus(
            name=server, reachable=True, logical_shards=shard_map.shards_on(server)
        )
        try:
            tables = await _tables_on(server)
            mine = [schema_name(i) for i in status.logical_shards if schema_name(i) in tables]
            names = sorted({t for s in mine for t in tables[s]} - {"django_migrations"})
            for name in names:
                parts = [
                    f'SELECT count(*) AS n FROM {s}."{name}"' for s in mine if name in tables[s]
                ]
                total = await db.aexecute(
                    server, f"SELECT sum(n)::bigint AS n FROM ({' UNION ALL '.join(parts)}) c"
                )
                status.rows[name] = int(total[0]["n"] or 0)
        except Exception as exc:  # reported, not raised: status must show every server
            status.reachable = False
            status.error = f"{type(exc).__name__}: {exc}".strip()
        result.append(status)
    return result


async def check(shard_map: topology.ShardMap) -> list[str]:
    """Problems found: schemas missing, misplaced, duplicated or not fully migrated."""
    problems: list[str] = []
    expected = expected_state()
    present: dict[str, set[str]] = {}
    for server in db.servers():
        try:
            present[server] = await _schemas_on(server)
        except Exception as exc:
            problems.append(f"{server}: unreachable ({type(exc).__name__}: {exc})")
    for logical, server in enumerate(shard_map.placement):
        schema = schema_name(logical)
        if server in present and schema not in present[server]:
            problems.append(f"{schema}: missing on {server}, where the map places it")
        for other, schemas in present.items():
            if other != server and schema in schemas:
                problems.append(f"{schema}: stray copy on {other} (the map says {server})")
    for server, schemas in present.items():
        mine = sorted(
            s
            for s in schemas
            if int(s[6:]) < shard_map.logical_count and shard_map.server_of(int(s[6:])) == server
        )
        if not mine:
            continue
        applied: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for chunk_start in range(0, len(mine), 500):
            chunk = mine[chunk_start : chunk_start + 500]
            sql = " UNION ALL ".join(
                f"SELECT '{s}' AS schema, app, name FROM {s}.django_migrations" for s in chunk
            )
            for r in await db.aexecute(server, sql):
                applied[str(r["schema"])].add((str(r["app"]), str(r["name"])))
        for schema in mine:
            missing = expected - applied[schema]
            if missing:
                problems.append(
                    f"{schema} on {server}: unapplied migrations "
                    + ", ".join(f"{a}.{n}" for a, n in sorted(missing))
                )
    return problems
