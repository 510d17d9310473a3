"""A local stand-in for Sentry: accepts what sentry-sdk sends and keeps it.

It speaks Sentry's ingestion endpoints as the SDK uses them: `POST
/api/<project>/envelope/` (an envelope: a JSON header line, then items, each
a JSON header line and a payload; gzip or deflate bodies) and the older
`/api/<project>/store/` (one JSON event). A test points SENTRY_DSN at it
(`http://<key>@127.0.0.1:<port>/<project>`) and reads what arrived:

    GET /events     {"events": [{"event": {...}, "raw": "..."}]}: every error
                    event, with the raw envelope text it came in (to look
                    for secrets anywhere in what was sent)
    GET /healthz

    python tests/sentry_standin.py --port P
"""

from __future__ import annotations

import argparse
import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_events: list[dict[str, Any]] = []
_lock = threading.Lock()


def decode_body(raw: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(raw)
    if encoding == "deflate":
        return zlib.decompress(raw)
    if encoding == "br":
        import brotli

        return bytes(brotli.decompress(raw))
    return raw


def parse_envelope(body: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """The items of an envelope: (item header, payload) pairs."""
    items = []
    _, _, rest = body.partition(b"\n")  # the envelope header
    while rest.strip():
        line, _, rest = rest.partition(b"\n")
        if not line.strip():
            continue
        header = json.loads(line)
        length = header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length + 1 :]
        items.append((header, payload))
    return items


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
        body = decode_body(raw, self.headers.get("content-encoding", ""))
        text = body.decode("utf-8", "replace")
        if self.path.rstrip("/").endswith("/envelope"):
            events = [
                json.loads(payload)
                for header, payload in parse_envelope(body)
                if header.get("type") == "event"
            ]
        elif self.path.rstrip("/").endswith("/store"):
            events = [json.loads(body)]
        else:
            self._answer(404, {"error": "not found"})
            return
        with _lock:
            _events.extend({"event": e, "raw": text} for e in events)
        self._answer(200, {"id": events[0].get("event_id") if events else None})

    def do_GET(self) -> None:
        if self.path.startswith("/events"):
            with _lock:
                self._answer(200, {"events": list(_events)})
        elif self.path == "/healthz":
            self._answer(200, {"status": "ok"})
        else:
            self._answer(404, {"error": "not found"})

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
