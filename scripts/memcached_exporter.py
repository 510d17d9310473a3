"""Prometheus exporter for Memcached: Debian ships none (bookworm has no
prometheus-memcached-exporter), so this is the upstream exporter's core
metrics, read from `stats` on each scrape (docs/decisions/0051-monitoring-stack.md).

    python scripts/memcached_exporter.py --memcached 127.0.0.1:11220 --listen 127.0.0.1:9073
"""

from __future__ import annotations

import argparse
import socket
import time
from collections.abc import Iterator

from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

TIMEOUT = 2.0


def read_stats(host: str, port: int) -> dict[str, str]:
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("memcached closed the connection")
            data += chunk
    stats = {}
    for line in data.decode().splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[0] == "STAT":
            stats[parts[1]] = parts[2]
    return stats


class MemcachedCollector(Collector):
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        up = GaugeMetricFamily("memcached_up", "Could the memcached server be reached")
        try:
            stats = read_stats(self.host, self.port)
        except OSError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "memcached_uptime_seconds", "Seconds since start", value=float(stats["uptime"])
        )
        commands = CounterMetricFamily(
            "memcached_commands", "Commands by command and status", labels=["command", "status"]
        )
        for command in ("get", "delete", "incr", "decr", "touch"):
            for status in ("hit", "miss"):
                key = f"{command}_{status}es" if status == "miss" else f"{command}_{status}s"
                if key in stats:
                    commands.add_metric([command, status], float(stats[key]))
        commands.add_metric(["set", "hit"], float(stats.get("cmd_set", 0)))
        yield commands
        for name, key, help_text in (
            ("memcached_current_items", "curr_items", "Items stored"),
            ("memcached_current_connections", "curr_connections", "Open connections"),
            ("memcached_current_bytes", "bytes", "Bytes used by items"),
            ("memcached_limit_bytes", "limit_maxbytes", "Memory limit"),
        ):
            yield GaugeMetricFamily(name, help_text, value=float(stats.get(key, 0)))
        yield CounterMetricFamily(
            "memcached_items_evicted", "Items evicted to make room", value=float(stats["evictions"])
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memcached", required=True, help="host:port")
    parser.add_argument("--listen", required=True, help="host:port to serve /metrics on")
    args = parser.parse_args()
    host, _, port = args.memcached.rpartition(":")
    REGISTRY.register(MemcachedCollector(host, int(port)))
    listen_host, _, listen_port = args.listen.rpartition(":")
    start_http_server(int(listen_port), addr=listen_host)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
