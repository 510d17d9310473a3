"""The Grafana dashboard's queries are valid PromQL that Prometheus answers
(on the running stack), and it has the graphs the README lists."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "photoshare.json"
GRAPHS = {
    "Requests/s by operation",
    "Latency p50 / p99",
    "Errors/s by code",
    "Photos posted/s",
    "Likes/s",
    "Fan-out lag p50 / p99",
    "Queue depth",
    "Shard statements/s by server",
    "Cache hit ratio",
}


def test_every_dashboard_query_runs_in_prometheus():
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert {p["title"] for p in panels} == GRAPHS
    url = f"http://127.0.0.1:{os.environ['PROMETHEUS_PORT']}/api/v1/query"
    for panel in panels:
        for target in panel["targets"]:
            response = httpx.get(url, params={"query": target["expr"]}, timeout=10)
            assert response.status_code == 200, (panel["title"], response.text)
            assert response.json()["status"] == "success"
