"""gunicorn settings hooks (`gunicorn -c python:backend.gunicorn_conf ...`).

The metrics of an instance's workers live in PROMETHEUS_MULTIPROC_DIR
(backend/metrics.py). The instance starts with it empty (the files of a
previous run would be summed in: Prometheus sees a counter reset, as for any
restarted process), and a worker that exits has its live gauges dropped;
its counters stay in the sum.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any


def on_starting(server: Any) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
