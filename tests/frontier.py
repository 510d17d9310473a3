"""Helpers for the front-tier tests: the stack's processes, nginx's access
log, and connections to the PostgreSQL servers as `ss` sees them."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

RUN = Path(os.environ.get("STACK_DIR", ".")) / "run"
LOG = Path(os.environ.get("STACK_DIR", ".")) / "log"


def instances() -> int:
    return int(os.environ["APP_INSTANCES"])


def instance_port(i: int) -> int:
    return int(os.environ["APP_PORT"]) + i - 1


def child_pid(name: str) -> int:
    """The supervised process (gunicorn master, Dramatiq) of `name`."""
    return int((RUN / f"{name}.child.pid").read_text().split()[0])


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")


def descendants(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        p, pp = (int(x) for x in line.split())
        children.setdefault(pp, []).append(p)
    found, todo = {pid}, [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.add(c)
            todo.append(c)
    return found


def pg_ports() -> dict[str, int]:
    """Each PostgreSQL server's own port, by server name."""
    ports = os.environ["PG_SHARD_PORTS"].split()
    return {
        "directory": int(os.environ["PG_DIRECTORY_PORT"]),
        **{f"shard{i}": int(p) for i, p in enumerate(ports, 1)},
    }


def pgbouncer_ports() -> list[int]:
    return [
        int(os.environ["PGBOUNCER_DIRECTORY_PORT"]),
        *(int(p) for p in os.environ["PGBOUNCER_SHARD_PORTS"].split()),
    ]


SS_LINE = re.compile(r"\S+:(\d+)\s+\S+:(\d+)\s+users:\(\((.*)\)\)")


def tcp_clients(port: int) -> list[tuple[str, int, int]]:
    """(process name, pid, local port) of every established connection to
    127.0.0.1:`port`."""
    out = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( dport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    clients = []
    for line in out.splitlines():
        m = SS_LINE.search(line)
        if m and int(m[2]) == port:
            for proc in m[3].split("),("):
                name, pid = re.match(r'"([^"]+)",pid=(\d+)', proc).groups()  # type: ignore[union-attr]
                clients.append((name, int(pid), int(m[1])))
    return clients


def access_log() -> list[tuple[float, str, str, str]]:
    """nginx's access log: (time, request, upstream addresses, upstream statuses)."""
    rows = []
    path = LOG / "nginx-access.log"
    for line in path.read_text().splitlines():
        m = re.match(r'(\S+) \S+ "([^"]*)" \d+ \d+ \S+ "([^"]*)" "([^"]*)"', line)
        if m:
            rows.append((float(m[1]), m[2], m[3], m[4]))
    return rows


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
