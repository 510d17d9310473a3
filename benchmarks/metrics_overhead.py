"""What the metrics cost: server CPU per request with and without them, same run.

Two extra gunicorn instances of the running stack, identical but for
METRICS_ENABLED (on: multiprocess files as in production; off: every metric
a no-op, no metered cursor), measured as benchmarks/cpu_per_request.py
measures (wrk, utime+stime of the master and its workers from /proc, per
request), alternating on/off ROUNDS times per scenario so a loaded machine's
drift hits both alike. Reports each arm's median and the overhead in %
(target: under 10 %).

    eval "$(scripts/stack.sh --profile P env)"; .venv/bin/python benchmarks/metrics_overhead.py
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cpu_per_request
import httpx
from common import emit, log
from cpu_per_request import app_cpu, ensure_wrk, lua_script, run_wrk, scenarios, seed

# Fewer connections than cpu_per_request's 16: on a loaded 2-core box the
# feed's p99 passes wrk's 2 s timeout with 16 queued; CPU per request is
# what is compared, not throughput.
cpu_per_request.CONNECTIONS = 6

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ["typename", "feed", "profile"]
WARMUP_S = 3
TARGET_PCT = 10.0


def start_instance(port: int, *, enabled: bool, tmp: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "METRICS_ENABLED": "true" if enabled else "false"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if enabled:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp / f"metrics-{port}")
    cmd = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "backend.asgi:application",
        "-c",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "-k",
        "uvicorn_worker.UvicornWorker",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        os.environ.get("WEB_CONCURRENCY", "2"),
    ]
    log_file = (tmp / f"gunicorn-{port}.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log_file, stderr=log_file)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            sys.exit(f"gunicorn on {port} did not start: see {tmp}")
        time.sleep(0.5)


def measure(wrk: str, script: Path, url: str, master: int, seconds: int) -> float:
    before = app_cpu(master)
    result = run_wrk(wrk, script, url, seconds)
    after = app_cpu(master)
    cpu = sum(after[p] - before.get(p, after[p]) for p in after)
    return cpu * 1000 / result["requests"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    args = parser.parse_args()
    base = int(os.environ["APP_PORT"])
    on_port, off_port = base + 60, base + 61
    wrk = ensure_wrk()
    with httpx.Client(base_url=f"http://127.0.0.1:{base}", timeout=60) as client:
        data = seed(client)
    specs = scenarios(data)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="metrics_overhead") as tmp_name:
        tmp = Path(tmp_name)
        procs = {
            "on": start_instance(on_port, enabled=True, tmp=tmp),
            "off": start_instance(off_port, enabled=False, tmp=tmp),
        }
        ports = {"on": on_port, "off": off_port}
        try:
            for name in args.scenarios.split(","):
                script = tmp / f"{name}.lua"
                script.write_text(lua_script(*specs[name]))
                samples: dict[str, list[float]] = {"on": [], "off": []}
                for arm in ("on", "off"):  # warm both (caches, validation cache)
                    url = f"http://127.0.0.1:{ports[arm]}{specs[name][1]}"
                    run_wrk(wrk, script, url, WARMUP_S)
                for i in range(args.rounds):
                    for arm in ("on", "off") if i % 2 == 0 else ("off", "on"):
                        url = f"http://127.0.0.1:{ports[arm]}{specs[name][1]}"
                        samples[arm].append(
                            measure(wrk, script, url, procs[arm].pid, args.duration)
                        )
                on, off = statistics.median(samples["on"]), statistics.median(samples["off"])
                results[name] = {
                    "cpu_ms_per_request": {"on": round(on, 4), "off": round(off, 4)},
                    "samples": samples,
                    "overhead_pct": round((on / off - 1) * 100, 1),
                }
                log(f"metrics_overhead: {name}: {results[name]}")
        finally:
            for proc in procs.values():
                proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                proc.wait(timeout=30)
    worst = max(r["overhead_pct"] for r in results.values())
    emit(
        {
            "benchmark": "metrics_overhead",
            "duration_s": args.duration,
            "rounds": args.rounds,
            "scenarios": results,
            "target": {"max_overhead_pct": TARGET_PCT, "worst": worst, "met": worst < TARGET_PCT},
        }
    )


if __name__ == "__main__":
    main()
