"""Operator CLI for the shard fleet: status, decode, move, check, export, failover."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from backend.commands import AsyncCommand
from backend.shards import topology
from backend.shards.exports import ExportError, export_logical
from backend.shards.failover import FailoverError, failover
from backend.shards.ids import decode_id
from backend.shards.inspect import check, server_status
from backend.shards.moves import MoveError, move_shard


class Command(AsyncCommand):
    help = (
        "Inspect and operate the logical shards: status | decode ID | move | check | export "
        "| failover"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        status = sub.add_parser("status", help="physical servers, their logical shards, row counts")
        status.add_argument("--json", action="store_true", help="machine-readable output")
        decode = sub.add_parser("decode", help="time, shard and sequence of an ID (JSON)")
        decode.add_argument("id", type=int)
        move = sub.add_parser("move", help="move a logical shard to another physical server")
        move.add_argument("--logical", type=int, required=True, help="logical shard number")
        move.add_argument("--to", required=True, dest="target", help="physical server name")
        move.add_argument("--json", action="store_true", help="print the report as JSON")
        chk = sub.add_parser("check", help="every schema on exactly its mapped server, migrated")
        chk.add_argument("--json", action="store_true", help="machine-readable output")
        export = sub.add_parser(
            "export", help="dump one logical shard (pg_dump custom format) for pg_restore elsewhere"
        )
        export.add_argument("--logical", type=int, required=True, help="logical shard number")
        export.add_argument("--output", help="file to write (default shard_NNNN.dump)")
        fail = sub.add_parser(
            "failover",
            help="promote a server's hot standby and point every process at it (JSON)",
        )
        fail.add_argument(
            "--server", required=True, help="physical shard server name, or `directory`"
        )

    async def ahandle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        await getattr(self, f"do_{action}")(**options)

    async def do_status(self, **options: Any) -> None:
        shard_map = await topology.refresh(force=True)
        servers = await server_status(shard_map)
        if options["json"]:
            payload = {
                "map_version": shard_map.version,
                "logical_shards": shard_map.logical_count,
                "servers": [asdict(s) for s in servers],
            }
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(
            f"map v{shard_map.version}: {shard_map.logical_count} logical shards "
            f"on {len(servers)} physical servers"
        )
        self.stdout.write(f"{'server':<12} {'state':<12} {'logical':>8}  rows")
        for s in servers:
            state = "up" if s.reachable else "UNREACHABLE"
            rows = ", ".join(f"{t}={n}" for t, n in s.rows.items()) or s.error or "-"
            self.stdout.write(f"{s.name:<12} {state:<12} {len(s.logical_shards):>8}  {rows}")

    async def do_decode(self, **options: Any) -> None:
        try:
            decoded = decode_id(options["id"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        payload = decoded.as_dict()
        try:
            payload["server"] = (await topology.refresh()).server_of(decoded.shard)
        except topology.ShardMapError:
            payload["server"] = None
        self.stdout.write(json.dumps(payload))

    async def do_move(self, **options: Any) -> None:
        def say(msg: str) -> None:
            if not options["json"]:
                self.stderr.write(f"  {msg}")

        try:
            report = await move_shard(options["logical"], options["target"], progress=say)
        except (MoveError, topology.ShardMapError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(asdict(report)))
        else:
            self.stdout.write(
                f"moved shard_{report.logical:04d} {report.source} -> {report.target} "
                f"({sum(report.rows.values())} rows, writes paused "
                f"{report.write_pause_seconds}s, map v{report.map_version})"
            )

    async def do_failover(self, **options: Any) -> None:
        def say(msg: str) -> None:
            self.stderr.write(f"  {msg}")

        try:
            report = await failover(options["server"], progress=say)
        except (FailoverError, topology.ShardMapError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(asdict(report)))

    async def do_check(self, **options: Any) -> None:
        shard_map = await topology.refresh(force=True)
        problems = await check(shard_map)
        if options["json"]:
            self.stdout.write(json.dumps({"ok": not problems, "problems": problems}))
        else:
            for p in problems:
                self.stdout.write(p)
            if not problems:
                self.stdout.write(f"ok: {shard_map.logical_count} logical shards in place")
        if problems:
            raise CommandError(f"{len(problems)} problem(s)")

    async def do_export(self, **options: Any) -> None:
        logical = options["logical"]
        output = Path(options["output"] or f"shard_{logical:04d}.dump")
        try:
            report = await export_logical(logical, output)
        except (ExportError, topology.ShardMapError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(asdict(report)))
