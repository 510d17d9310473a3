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
