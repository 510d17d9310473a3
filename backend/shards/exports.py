"""Logical exports of one logical shard: its schema, dumped with pg_dump from
the server the map places it on, for restoring it somewhere else (another
server, a scratch cluster) with pg_restore. Backups (pgBackRest) restore
whole servers; this restores one shard (docs/decisions/0062-backups.md).

The events of the shard still in its server's outbox (`public.outbox`) are
not part of the schema and are not exported: they are relayed where they are.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from backend import runtime
from backend.shards import db, topology
from backend.shards.ids import schema_name


class ExportError(RuntimeError):
    pass


@dataclass(frozen=True)
class ExportReport:
    logical: int
    schema: str
    server: str
    map_version: int
    file: str
    bytes: int
    seconds: float


def pg_tool(name: str) -> str:
    """Debian keeps the server's client tools under /usr/lib/postgresql/N/bin."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    path = found[-1] if found else shutil.which(name)
    if path is None:
        raise ExportError(f"{name} not found: install PostgreSQL's client tools")
    return path


def _dump(conninfo: str, schema: str, output: Path) -> int:
    """Run pg_dump; returns the size of the file it wrote."""
    result = subprocess.run(
        [pg_tool("pg_dump"), "--format=custom", f"--schema={schema}", f"--file={output}", conninfo],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ExportError(f"pg_dump of {schema} failed: {result.stderr.strip()}")
    return output.stat().st_size


async def export_logical(logical: int, output: Path) -> ExportReport:
    """Dump logical shard `logical` (schema and rows, one consistent snapshot)
    from its server into `output` (pg_dump's custom format)."""
    shard_map = await topology.refresh(force=True)
    server = shard_map.server_of(logical)
    schema = schema_name(logical)
    started = time.perf_counter()
    # pg_dump needs a session of its own: the server itself, not PgBouncer.
    size = await runtime.in_thread(_dump, db.direct_conninfo(server), schema, output)
    return ExportReport(
        logical=logical,
        schema=schema,
        server=server,
        map_version=shard_map.version,
        file=str(output),
        bytes=size,
        seconds=round(time.perf_counter() - started, 2),
    )
