"""Throughput and CPU through nginx next to the direct figure, in one run.

Three wrk runs (`-t2 -c16`, the same as cpu_per_request.py) per scenario:

- `direct`: straight to the first app instance (APP_PORT);
- `nginx_one_instance`: through nginx with the other instances taken out
  (scripts/stack.sh instance-out), so the same server processes answer and
  the difference is nginx's cost;
- `nginx_all_instances`: through nginx over every instance, as served.

For each: requests/s, latency, and CPU per request of the app instances
(gunicorn masters and workers) and of nginx (master and workers), from /proc.
On a 2-core box wrk, nginx and the app share the cores, so requests/s is the
figure to compare within one run, not across machines.

    eval "$(scripts/stack.sh --profile bench env)"; .venv/bin/python benchmarks/front_tier.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import emit, log
from benchmarks.cpu_per_request import app_cpu, ensure_wrk, lua_script, run_wrk

ROOT = Path(__file__).resolve().parent.parent

SCENARIOS: dict[str, tuple[str, str, dict[str, str], list[str]]] = {
    "healthz": ("GET", "/healthz", {}, []),
    "graphql_read": (
        "POST",
        "/graphql",
        {"Content-Type": "application/json"},
        ['{"query": "{ user(username: \\"nobody-here\\") { id photoCount } }"}'],
    ),
}


def _pid(name: str) -> int:
    return int(Path(os.environ["STACK_DIR"], "run", name).read_text().split()[0])


def _cpu(masters: list[int]) -> float:
    return sum(sum(app_cpu(m).values()) for m in masters)


def _stack(*args: str) -> None:
    subprocess.run(
        [str(ROOT / "scripts/stack.sh"), "--profile", os.environ["STACK_PROFILE"], *args],
        check=True,
        stdout=sys.stderr,
        stderr=sys.stderr,
    )


def measure(wrk: str, script: Path, url: str, seconds: int) -> dict[str, Any]:
    instances = int(os.environ["APP_INSTANCES"])
    apps = [_pid(f"app{i}.child.pid") for i in range(1, instances + 1)]
    nginx = _pid("nginx.pid")
    run_wrk(wrk, script, url, 1)  # warm-up
    app_before, nginx_before, wall = _cpu(apps), _cpu([nginx]), time.monotonic()
    run = run_wrk(wrk, script, url, seconds)
    app_after, nginx_after = _cpu(apps), _cpu([nginx])
    wall = time.monotonic() - wall
    return {
        "requests_per_s": round(run["requests"] / (run["duration_us"] / 1e6), 1),
        "requests": run["requests"],
        "latency_ms": {"p50": run["p50_us"] / 1000, "p99": run["p99_us"] / 1000},
        "app_cpu_ms_per_request": round((app_after - app_before) * 1000 / run["requests"], 4),
        "nginx_cpu_ms_per_request": round((nginx_after - nginx_before) * 1000 / run["requests"], 4),
        "wall_s": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured run")
    args = parser.parse_args()
    if "PUBLIC_URL" not in os.environ:
        sys.exit('run through `make bench`, or eval "$(scripts/stack.sh --profile P env)" first')
    wrk = ensure_wrk()
    direct = f"http://127.0.0.1:{os.environ['APP_PORT']}"
    edge = os.environ["PUBLIC_URL"]
    others = range(2, int(os.environ["APP_INSTANCES"]) + 1)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="front_tier") as tmp:
        for name, spec in SCENARIOS.items():
            script = Path(tmp, f"{name}.lua")
            script.write_text(lua_script(*spec))
            row = results[name] = {}
            row["direct"] = measure(wrk, script, direct + spec[1], args.duration)
            for i in others:
                _stack("instance-out", str(i))
            try:
                row["nginx_one_instance"] = measure(wrk, script, edge + spec[1], args.duration)
            finally:
                for i in others:
                    _stack("instance-in", str(i))
            row["nginx_all_instances"] = measure(wrk, script, edge + spec[1], args.duration)
            row["nginx_throughput_ratio"] = round(
                row["nginx_one_instance"]["requests_per_s"] / row["direct"]["requests_per_s"], 3
            )
            log(f"front_tier: {name}: {row}")
    emit(
        {
            "benchmark": "front_tier",
            "duration_s": args.duration,
            "wrk": {"threads": 2, "connections": 16},
            "instances": int(os.environ["APP_INSTANCES"]),
            "scenarios": results,
        }
    )


if __name__ == "__main__":
    main()
