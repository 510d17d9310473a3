"""Bounded load with wrk (Debian's package) and a Lua script that checks
every answer: HTTP 200 and no GraphQL `errors`, else the request counts as
failed. Likes carry an alias naming (user, photo), so the script can list
every like the server acknowledged."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

LUA = r"""
local reads = {READS}
local tokens = {TOKENS}
local photos = {PHOTOS}
local like_share = LIKE_SHARE
local threads = {}
local k = 0
bad = 0
statuses = {}
acked = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function request()
  k = k + 1
  if #tokens > 0 and (k % 100) < like_share then
    local n = k * 2 + id
    local u = (n % #tokens) + 1
    local p = (math.floor(n / #tokens) % #photos) + 1
    local body = '{"query":"mutation { l_' .. u .. '_' .. p .. ': likePhoto(id: \\"' ..
      photos[p] .. '\\") { id } }"}'
    return wrk.format("POST", "/graphql", {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. tokens[u],
    }, body)
  end
  return wrk.format("GET", reads[(k % #reads) + 1])
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
    statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
    return
  end
  for alias in string.gmatch(body, '"(l_%d+_%d+)"') do
    acked[alias] = true
  end
end

function done(summary, latency, requests)
  local failed, acks, seen = 0, {}, {}
  local codes = {}
  for _, t in ipairs(threads) do
    failed = failed + t:get("bad")
    for code, n in pairs(t:get("statuses")) do
      codes[#codes + 1] = '"' .. code .. '": ' .. n
    end
    for alias, _ in pairs(t:get("acked")) do
      if not seen[alias] then
        seen[alias] = true
        acks[#acks + 1] = '"' .. alias .. '"'
      end
    end
  end
  local e = summary.errors
  local f = io.open("OUT", "w")
  f:write(string.format(
    '{"requests": %d, "failed": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, '
    .. '"non2xx": %d, "p99_ms": %.1f, "statuses": {%s}, "acked": [%s]}',
    summary.requests, failed, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(99) / 1000, table.concat(codes, ", "), table.concat(acks, ",")))
  f:close()
end
"""


@dataclass
class Result:
    requests: int
    failed: int
    socket_errors: dict[str, int]
    non2xx: int
    p99_ms: float
    statuses: dict[str, int]
    acked: set[tuple[int, int]]

    @property
    def all_ok(self) -> bool:
        return (
            self.requests > 0
            and not self.failed
            and not self.non2xx
            and not any(self.socket_errors.values())
        )


def _lua_list(items: list[str]) -> str:
    return "{" + ",".join(json.dumps(i) for i in items) + "}"


def read_path(query: str) -> str:
    """A GraphQL query as a GET request (an idempotent read nginx may retry)."""
    return "/graphql?query=" + quote(query, safe="")


def start(
    url: str,
    *,
    reads: list[str],
    seconds: float,
    connections: int,
    threads: int = 2,
    tokens: list[str] | None = None,
    photos: list[str] | None = None,
    like_share: int = 0,
) -> tuple[subprocess.Popen[str], Path]:
    """Start wrk against `url` (reads as GET paths; `like_share` % likes of
    photos by the tokens' users). Returns the process and its result file."""
    wrk = shutil.which("wrk")
    assert wrk, "wrk is not installed (apt-get install wrk)"
    work = Path(tempfile.mkdtemp(prefix="wrk-"))
    out = work / "result.json"
    script = (
        LUA.replace("{READS}", _lua_list(reads))
        .replace("{TOKENS}", _lua_list(tokens or []))
        .replace("{PHOTOS}", _lua_list(photos or []))
        .replace("LIKE_SHARE", str(like_share))
        .replace('"OUT"', json.dumps(str(out)))
    )
    (work / "load.lua").write_text(script)
    proc = subprocess.Popen(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "--timeout",
            "30s",
            "-s",
            str(work / "load.lua"),
            url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, out


def finish(
    proc: subprocess.Popen[str], out: Path, timeout: float = 120, *, stop: bool = False
) -> Result:
    """wrk's result; `stop`: end the run now (wrk reports on SIGINT as at its end)."""
    if stop:
        proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0 and out.exists(), stdout
    data = json.loads(out.read_text())
    acked = set()
    for alias in data["acked"]:
        _, u, p = alias.split("_")
        acked.add((int(u) - 1, int(p) - 1))
    return Result(
        requests=data["requests"],
        failed=data["failed"],
        socket_errors={k: data[k] for k in ("connect", "read", "write", "timeout")},
        non2xx=data["non2xx"],
        p99_ms=data["p99_ms"],
        statuses=data["statuses"],
        acked=acked,
    )
