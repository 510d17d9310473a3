"""Rolling deploys, one app instance at a time, with no failed request.

    .venv/bin/fab -r deploy deploy                       # this box's dev stack (`make deploy`)
    .venv/bin/fab -r deploy deploy --profile test2       # another local profile
    .venv/bin/fab -r deploy deploy --hosts deploy/hosts.toml --ref v42   # over SSH

Every host runs the same steps through `scripts/stack.sh` (so the local and
the remote path are one path):

1. install the release's Python packages (when pyproject.toml changed);
2. once, on the first host: migrations. They run before any instance has the
   new code, so a release's migrations must work with the previous release's
   code: expand (add tables, nullable columns, indexes), never rename or drop;
   a later release contracts once no running code reads the old shape
   (docs/decisions/0022-rolling-deploys.md);
3. for each instance in turn: take it out of nginx (a reload that waits for
   nginx's old workers, so nothing is in flight on it), restart it gracefully
   on the new code, wait for its /readyz, put it back;
4. restart the Dramatiq workers gracefully: running messages finish, the
   prefetched ones go back to the queue.

A step that fails stops the deploy with the instance left out of nginx and
the others serving; fix and run the deploy again.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from fabric import Connection, task
from invoke.context import Context

ROOT = Path(__file__).resolve().parent.parent


def _stack(c: Any, profile: str, *args: str) -> Any:
    return c.run(f"scripts/stack.sh --profile {profile} {' '.join(args)}", echo=True)


def deploy_host(c: Any, profile: str, *, migrate: bool) -> None:
    """The deploy of one host; `c` runs commands in the host's checkout."""
    _stack(c, profile, "install")
    if migrate:
        _stack(c, profile, "migrate")
    instances = int(c.run(f"scripts/stack.sh --profile {profile} instances", hide=True).stdout)
    for i in range(1, instances + 1):
        _stack(c, profile, "instance-out", str(i))
        _stack(c, profile, "instance-restart", str(i))
        _stack(c, profile, "instance-in", str(i))
    _stack(c, profile, "worker-restart")


def read_hosts(path: str) -> list[dict[str, Any]]:
    """[[host]] tables of a TOML file: host, and optionally user, port, path
    (the checkout, default /srv/photoshare) and profile (default dev)."""
    hosts: list[dict[str, Any]] = tomllib.loads(Path(path).read_text())["host"]
    for entry in hosts:
        if "host" not in entry:
            raise ValueError(f"{path}: every [[host]] needs host = ...")
    return hosts


@task(
    help={
        "profile": "local stack profile (scripts/profile.sh), default dev",
        "hosts": "TOML file listing [[host]] entries: deploy to them over SSH instead",
        "ref": "with --hosts: git ref each host checks out first",
    }
)
def deploy(c: Context, profile: str = "dev", hosts: str = "", ref: str = "") -> None:
    """Rolling deploy: migrations (expand only), each instance in turn, workers."""
    if not hosts:
        with c.cd(str(ROOT)):
            deploy_host(c, profile, migrate=True)
        return
    for n, entry in enumerate(read_hosts(hosts)):
        conn = Connection(entry["host"], user=entry.get("user"), port=entry.get("port"))
        with conn.cd(entry.get("path", "/srv/photoshare")):
            if ref:
                conn.run(f"git fetch --quiet origin && git checkout --quiet --detach {ref}")
            deploy_host(conn, entry.get("profile", "dev"), migrate=n == 0)
