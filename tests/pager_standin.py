"""A local stand-in for PagerDuty: records what Alertmanager's webhook sends.

Alertmanager (deploy/alertmanager/alertmanager.yml.in) posts each
notification here as JSON (its webhook format: `status`, `alerts` with their
labels and annotations). Production points the same route at PagerDuty's
Events API instead (README, "Alerts").

    POST /<anything>   a notification: recorded, answered 200
    GET  /alerts       {"notifications": [...]} every notification, as received
    GET  /healthz

    python tests/pager_standin.py --port P [--log FILE]
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_notifications: list[Any] = []
_lock = threading.Lock()
_log: Path | None = None


class Handler(BaseHTTPRequestHandler):
    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            notification = json.loads(raw)
        except ValueError:
            self._answer(400, {"error": "not JSON"})
            return
        with _lock:
            _notifications.append(notification)
            if _log is not None:
                with _log.open("a") as f:
                    f.write(json.dumps(notification) + "\n")
        self._answer(200, {"status": "recorded"})

    def do_GET(self) -> None:
        if self.path.startswith("/alerts"):
            with _lock:
                self._answer(200, {"notifications": list(_notifications)})
        elif self.path == "/healthz":
            self._answer(200, {"status": "ok"})
        else:
            self._answer(404, {"error": "not found"})

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    global _log
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, help="also append each notification to this file")
    args = parser.parse_args()
    _log = args.log
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
