"""gunicorn settings shared by every app instance (scripts/stack.sh passes `-c`).

An instance is its gunicorn master. When the master dies (killed by pid, or a
crash), its uvicorn workers would live on as orphans holding the port with the
old code and answering nginx; Linux's parent-death signal makes each worker
get SIGTERM instead, so it stops accepting, finishes what is in flight, and
frees the port for the master's supervisor (scripts/supervise.sh) to restart.
"""

from __future__ import annotations

import ctypes
import os
import signal
from typing import Any

PR_SET_PDEATHSIG = 1


def post_fork(server: Any, worker: Any) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != worker.ppid:  # the master died before the line above
        os.kill(os.getpid(), signal.SIGTERM)


# Metrics (backend/metrics.py): the instance's workers write to
# PROMETHEUS_MULTIPROC_DIR. The instance starts with it empty (a previous
# run's files would be summed in: Prometheus sees a counter reset, as for any
# restarted process); a worker that exits has its live gauges dropped, its
# counters stay in the sum.
def on_starting(server: Any) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        import shutil
        from pathlib import Path

        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
