"""The app's Prometheus metrics: every name lives here, every layer imports it.

Infrastructure (it knows no domain): domains, the graph layer and the
runtime's helpers increment what is declared here; nothing here imports
them back.

Several processes per instance (gunicorn workers, Dramatiq processes):
prometheus_client's multiprocess mode. Each process writes its values to
memory-mapped files in PROMETHEUS_MULTIPROC_DIR (set by the launcher before
Python starts: scripts/stack.sh, one directory per gunicorn instance and one
for the workers), and a scrape sums every file, so a counter survives the
worker that counted it (a restarted worker's file stays; the directory is
emptied when the instance starts: deploy/gunicorn.conf.py). Without the
variable (tests in one process, commands) the values live in this process.

Label values are bounded: operation names come from `operation_label`,
servers and caches are configuration names, results and codes are enums.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_DIR_VAR = "PROMETHEUS_MULTIPROC_DIR"
# METRICS_ENABLED=false turns every metric below into a no-op: only to measure
# what counting costs (benchmarks/metrics_overhead.py), never in production.
ENABLED = os.environ.get("METRICS_ENABLED", "true").strip().lower() not in {"0", "false", "off"}


class _Off:
    """A metric that records nothing (METRICS_ENABLED=false)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def labels(self, *args: Any, **kwargs: Any) -> _Off:
        return self

    def inc(self, amount: float = 1) -> None:
        pass

    def observe(self, amount: float) -> None:
        pass


if not ENABLED:
    Counter = Histogram = _Off  # type: ignore[misc, assignment]

# Seconds: requests and statements are fast, a bad one is seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STATEMENT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
# Query cost points (backend/graph/limits.py; the default maximum is 2000).
COST_BUCKETS = (0, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000)
# From a photo's commit to its last feed delivery: a second is normal, a
# minute is a backlog.
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)

# ---------------------------------------------------------------- GraphQL

GRAPHQL_REQUESTS = Counter(
    "photoshare_graphql_requests_total",
    "GraphQL operations by operation (see operation_label) and outcome code "
    "(OK, or the first error's extensions.code)",
    ["operation", "code"],
)
GRAPHQL_DURATION = Histogram(
    "photoshare_graphql_request_duration_seconds",
    "Time to answer a GraphQL operation (parse to result), by operation",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
GRAPHQL_COST = Histogram(
    "photoshare_graphql_query_cost",
    "Cost of each priced GraphQL operation (backend/graph/limits.py)",
    buckets=COST_BUCKETS,
)

# ---------------------------------------------------------------- product

PHOTOS_UPLOADED = Counter("photoshare_photos_uploaded_total", "Photos posted (committed)")
LIKES = Counter("photoshare_likes_total", "Likes made (committed, not repeats)")
COMMENTS = Counter("photoshare_comments_total", "Comments added (committed)")
FOLLOWS = Counter(
    "photoshare_follows_total", "Follow edges that became active or requested (committed)"
)

# ---------------------------------------------------------------- feeds

FEED_DELIVERIES = Counter(
    "photoshare_feed_deliveries_total", "Photos added to followers' feeds by the fan-out"
)
FANOUT_LAG = Histogram(
    "photoshare_fanout_lag_seconds",
    "From a photo's commit (its ID's time) to each fan-out delivery chunk; the slowest "
    "chunk is the last delivery",
    buckets=LAG_BUCKETS,
)

# ---------------------------------------------------------------- infrastructure

WORKER_LOOP_LAG = Histogram(
    "photoshare_worker_loop_lag_seconds",
    "How long a no-op handed to a worker process's event loop waited to run "
    "(the loop watchdog's probe, every 5 s): the delay every actor's next step sees",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

SHARD_STATEMENTS = Counter(
    "photoshare_shard_statements_total",
    "SQL statements sent through the runtime's pools, by database server",
    ["server"],
)
SHARD_STATEMENT_DURATION = Histogram(
    "photoshare_shard_statement_duration_seconds",
    "Time of each SQL statement (round trip), by database server",
    ["server"],
    buckets=STATEMENT_BUCKETS,
)
CACHE_REQUESTS = Counter(
    "photoshare_cache_requests_total",
    "Cache lookups by cache and result (hit or miss), one per key",
    ["cache", "result"],
)
PUSH_SENT = Counter(
    "photoshare_push_sent_total",
    "APNs notifications by result (sent, or why not)",
    ["result"],
)
RATE_LIMITED = Counter(
    "photoshare_rate_limited_total", "Requests refused by a rate limit, by limit", ["limit"]
)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR_VAR))


def exposition() -> tuple[bytes, str]:
    """The body and content type of a scrape: every process's values in
    multiprocess mode, this process's otherwise."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """A gunicorn worker exited: drop its live gauges (counters stay summed)."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(pid)
