"""Server CPU per request of the app processes under wrk, as a ratio to GET /healthz.

What is measured: the user+system CPU time (from /proc/PID/stat) of the gunicorn
master and all its descendants (the uvicorn workers), read right before and
right after each `wrk -t2 -c16` run, divided by the requests wrk completed. The
ratio to /healthz, measured in the same run, is the cost of the GraphQL layer,
the database and cache round trips and the serialisation on top of the bare
HTTP + Django path. CPU of PostgreSQL, Redis, Memcached and the Dramatiq
workers is not counted: this is the app tier's cost per request.

Two baselines, same run: `healthz`, the product's /healthz (answered by the
ASGI router in backend/asgi.py, so it is the bare HTTP cost), and
`django_view`, the same answer through Django's request handling (middleware,
URL resolver, request signals): a plain Django view, which is what /healthz
was when the targets were set (docs/decisions/0010-runtime.md). The targets
are checked against both and reported for both.

Why not requests per second: on this 2-core machine a Python load generator
competes with the server for the same cores and mostly measures itself; wrk is
cheap, and server CPU per request does not depend on how fast the client is.

Data is seeded only through the public HTTP API (sign-ups, multipart uploads,
follows), so the benchmark survives rewrites of the internals. Any non-200
response or GraphQL error fails the run; a missed target is only reported.

    eval "$(scripts/stack.sh --profile bench env)"; .venv/bin/python benchmarks/cpu_per_request.py
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import app_url, emit, log
from PIL import Image

THREADS, CONNECTIONS, WARMUP_S = 2, 16, 2
AUTHORS, PHOTOS_EACH, PASSWORD = 10, 3, "bench-password"
TARGETS = {"typename": 1.5, "feed": 5.0, "like_unlike": 3.0}  # max ratio to the baseline
BASELINES = ["healthz", "django_view"]
FEED = (
    "query { feed(first: 20) { edges { cursor node { id caption url(size: MEDIUM) likeCount "
    "commentCount viewerHasLiked owner { id username } } } pageInfo { hasNextPage endCursor } } }"
)
PROFILE = (
    "query($u: String!) { user(username: $u) { id username fullName bio isPrivate followerCount "
    "followingCount photoCount viewerFollows photos(first: 12) { edges { node { id "
    "url(size: THUMBNAIL) likeCount commentCount } } pageInfo { hasNextPage endCursor } } } }"
)
LIKE = "mutation($id: ID!) { likePhoto(id: $id) { id likeCount viewerHasLiked } }"
UNLIKE = "mutation($id: ID!) { unlikePhoto(id: $id) { id likeCount viewerHasLiked } }"
SCENARIOS = ["healthz", "django_view", "typename", "feed", "feed_stale", "profile", "like_unlike"]
# feed_stale's reader unfollows all but the first KEPT_AUTHORS after its feed is full, so
# most of its feed (the newest entries) belongs to accounts it no longer follows.
KEPT_AUTHORS = 3

# Per-thread counters of bad responses, summed in done() from the main Lua state,
# which prints one machine-readable line (wrk's own report goes before it).
LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  bad, first_bad, n = 0, "", 0
  reqs = {}
  for i, body in ipairs(BODIES) do reqs[i] = wrk.format(nil, nil, nil, body) end
end
%(request)s
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body, 1, 300) end
  end
end
function done(summary, latency, requests)
  local bad, sample = 0, ""
  for _, t in ipairs(threads) do
    bad = bad + t:get("bad")
    if sample == "" then sample = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"requests": %%d, "duration_us": %%d, "bad": %%d, '
    .. '"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d}\\n', summary.requests, summary.duration, bad,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
  io.write("WRK_BAD " .. string.gsub(sample, "[\\r\\n]", " ") .. "\\n")
end
"""
ROTATE = "function request() n = n + 1; return reqs[n % #reqs + 1] end"


def lua_script(method: str, path: str, headers: dict[str, str], bodies: list[str]) -> str:
    def long_string(s: str) -> str:
        assert "]==]" not in s
        return f"[==[{s}]==]"

    lines = [f"wrk.method = {long_string(method)}", f"wrk.path = {long_string(path)}"]
    lines += [f"wrk.headers[ {long_string(k)} ] = {long_string(v)}" for k, v in headers.items()]
    if bodies:
        lines.append(f"wrk.body = {long_string(bodies[0])}")
    lines.append("BODIES = {" + ", ".join(long_string(b) for b in bodies) + "}")
    return "\n".join(lines) + LUA % {"request": ROTATE if len(bodies) > 1 else ""}


def ensure_wrk() -> str:
    if path := shutil.which("wrk"):
        return path
    if os.geteuid() != 0:
        sys.exit("wrk not found: install it (sudo apt-get install wrk) or run as root")
    log("cpu_per_request: installing wrk")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]
    if subprocess.run(install, env=env, stdout=sys.stderr).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, stdout=sys.stderr, check=True)
        subprocess.run(install, env=env, stdout=sys.stderr, check=True)
    return shutil.which("wrk") or sys.exit("wrk still not found after apt-get install")


def app_cpu(master: int) -> dict[int, float]:
    """pid -> utime+stime in seconds, of `master` and all its descendants."""
    stats: dict[int, tuple[int, int]] = {}  # pid -> (ppid, utime+stime ticks)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        fields = raw[raw.rindex(")") + 2 :].split()  # fields 3.. (comm may hold spaces)
        stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    if master not in stats:
        sys.exit(f"gunicorn master (pid {master}) is not running")
    tree, grew = {master}, True
    while grew:
        children = {pid for pid, (ppid, _) in stats.items() if ppid in tree} - tree
        tree |= children
        grew = bool(children)
    return {pid: stats[pid][1] / os.sysconf("SC_CLK_TCK") for pid in tree}


def run_wrk(wrk: str, script: Path, url: str, seconds: int) -> dict[str, Any]:
    cmd = [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(script), url]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    lines = {line.split(" ", 1)[0]: line.split(" ", 1)[-1] for line in proc.stdout.splitlines()}
    if "WRK_RESULT" not in lines:  # e.g. a Lua error: wrk still exits 0
        sys.exit(f"wrk printed no result line:\n{proc.stdout}\n{proc.stderr}")
    result: dict[str, Any] = json.loads(lines["WRK_RESULT"])
    if not result["requests"]:
        sys.exit(f"{script.stem}: wrk completed no request:\n{proc.stdout}")
    # `bad` (status not 200 or a GraphQL error) already counts wrk's non-2xx/3xx `status`.
    errors = sum(result[k] for k in ("bad", "connect", "read", "write", "timeout"))
    if errors:
        sys.exit(
            f"{script.stem}: {errors} failed requests {result}; first bad response: "
            f"{lines.get('WRK_BAD', '')[:300]}"
        )
    result["errors"] = errors
    return result


def gql(
    client: httpx.Client,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    body: dict[str, Any] = response.json()
    if response.status_code != 200 or body.get("errors"):
        sys.exit(f"seeding failed: HTTP {response.status_code}: {response.text[:500]}")
    return body["data"]


def jpeg(seed: int) -> bytes:
    rng = random.Random(seed)
    small = Image.new("RGB", (8, 6))
    small.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(48)])
    buf = io.BytesIO()
    small.resize((800, 600), Image.Resampling.BICUBIC).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def seed(client: httpx.Client) -> dict[str, Any]:
    """Authors with photos and a reader who follows them all, through the public API."""
    tag = secrets.token_hex(4)
    sign_up = (
        "mutation($u: String!, $p: String!) { signUp(username: $u, password: $p) "
        "{ token user { id } } }"
    )
    upload = "mutation($f: Upload!, $c: String) { uploadPhoto(file: $f, caption: $c) { id } }"
    authors, photos = [], []
    for i in range(AUTHORS):
        name = f"cpu{tag}a{i}"
        made = gql(client, sign_up, {"u": name, "p": PASSWORD})["signUp"]
        authors.append((made["user"]["id"], name))
        for n in range(PHOTOS_EACH):
            operations = {"query": upload, "variables": {"f": None, "c": f"{name} #{n}"}}
            response = client.post(
                "/graphql",
                data={"operations": json.dumps(operations), "map": '{"0": ["variables.f"]}'},
                files={"0": ("photo.jpg", jpeg(i * PHOTOS_EACH + n), "image/jpeg")},
                headers={"Authorization": f"Bearer {made['token']}"},
            )
            if response.status_code != 200 or "errors" in response.json():
                sys.exit(f"upload failed: HTTP {response.status_code}: {response.text[:500]}")
            photos.append(response.json()["data"]["uploadPhoto"]["id"])
    reader = gql(client, sign_up, {"u": f"cpu{tag}r", "p": PASSWORD})["signUp"]["token"]
    for author_id, _ in authors:
        gql(client, "mutation($id: ID!) { follow(userId: $id) { id } }", {"id": author_id}, reader)
    want, deadline = min(20, len(photos)), time.monotonic() + 30
    while (got := len(gql(client, FEED, token=reader)["feed"]["edges"])) < want:
        if time.monotonic() > deadline:
            sys.exit(f"the reader's feed has {got} photos after 30 s, expected {want}")
        time.sleep(0.2)
    stale = gql(client, sign_up, {"u": f"cpu{tag}s", "p": PASSWORD})["signUp"]["token"]
    for author_id, _ in authors:
        gql(client, "mutation($id: ID!) { follow(userId: $id) { id } }", {"id": author_id}, stale)
    while len(gql(client, FEED, token=stale)["feed"]["edges"]) < want:
        if time.monotonic() > deadline:
            sys.exit("the stale reader's feed did not fill in 30 s")
        time.sleep(0.2)
    for author_id, _ in authors[KEPT_AUTHORS:]:
        gql(client, "mutation($id: ID!) { unfollow(userId: $id) { id } }", {"id": author_id}, stale)
    kept = len(gql(client, FEED, token=stale)["feed"]["edges"])
    log(
        f"cpu_per_request: {len(authors)} authors, {len(photos)} photos, feed has {got}, "
        f"stale reader's feed shows {kept}"
    )
    return {"reader": reader, "stale": stale, "author": authors[0][1], "photo": photos[0]}


def scenarios(data: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, str], list[str]]]:
    """name -> (method, path, headers, bodies) of each scenario's wrk script."""
    post = {"Content-Type": "application/json"}
    auth = {**post, "Authorization": f"Bearer {data['reader']}"}
    stale = {**post, "Authorization": f"Bearer {data.get('stale', '')}"}
    photo = {"id": data["photo"]}

    def body(query: str, variables: dict[str, Any] | None = None) -> str:
        return json.dumps({"query": query} | ({"variables": variables} if variables else {}))

    return {
        "healthz": ("GET", "/healthz", {}, []),
        "django_view": ("GET", "/django/healthz", {}, []),
        "typename": ("POST", "/graphql", post, [body("{ __typename }")]),
        "feed": ("POST", "/graphql", auth, [body(FEED)]),
        "feed_stale": ("POST", "/graphql", stale, [body(FEED)]),
        "profile": ("POST", "/graphql", auth, [body(PROFILE, {"u": data["author"]})]),
        "like_unlike": ("POST", "/graphql", auth, [body(LIKE, photo), body(UNLIKE, photo)]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {SCENARIOS} (the baselines always run)",
    )
    args = parser.parse_args()
    wanted = {s.strip() for s in args.scenarios.split(",") if s.strip()}
    if unknown := wanted - set(SCENARIOS):
        sys.exit(f"unknown scenarios {sorted(unknown)}; known: {SCENARIOS}")
    names = [s for s in SCENARIOS if s in BASELINES or s in wanted]
    if "APP_PORT" not in os.environ or "STACK_DIR" not in os.environ:
        sys.exit('run through `make bench`, or eval "$(scripts/stack.sh --profile P env)" first')
    # The first app instance (its gunicorn master), measured directly on APP_PORT;
    # benchmarks/front_tier.py measures the same through nginx.
    pid_file = Path(os.environ["STACK_DIR"], "run", "app1.child.pid")
    if not pid_file.exists():
        sys.exit(f"{pid_file} not found: is the stack's app running?")
    master = int(pid_file.read_text().split()[0])
    wrk = ensure_wrk()

    with httpx.Client(base_url=app_url(), timeout=60) as client:
        needs_data = set(names) - {*BASELINES, "typename"}
        data = seed(client) if needs_data else {"reader": "", "author": "", "photo": ""}
    specs = scenarios(data)
    results: dict[str, dict[str, Any]] = {}
    workers: set[int] = set()
    with tempfile.TemporaryDirectory(prefix="cpu_per_request") as tmp:
        for name in names:
            script = Path(tmp, f"{name}.lua")
            script.write_text(lua_script(*specs[name]))
            url = app_url() + specs[name][1]
            run_wrk(wrk, script, url, WARMUP_S)
            before = app_cpu(master)
            wall = time.monotonic()
            run = run_wrk(wrk, script, url, args.duration)
            after = app_cpu(master)
            wall = time.monotonic() - wall
            if before.keys() != after.keys():
                sys.exit(
                    f"{name}: app processes changed during the run (a worker died or was "
                    f"restarted): before {sorted(before)}, after {sorted(after)}"
                )
            workers = set(after) - {master}
            per_pid = {pid: after[pid] - before[pid] for pid in after}
            cpu = sum(per_pid.values())
            results[name] = {
                "cpu_ms_per_request": round(cpu * 1000 / run["requests"], 4),
                "requests_per_s": round(run["requests"] / (run["duration_us"] / 1e6), 1),
                "requests": run["requests"],
                "errors": run["errors"],
                "app_cpu_cores": round(cpu / wall, 2),
                # 0.5 = even over 2 workers; 1.0 = one worker took every connection.
                "busiest_worker_cpu_share": round(max(per_pid.values()) / cpu, 2) if cpu else 0,
                "latency_ms": {"p50": run["p50_us"] / 1000, "p99": run["p99_us"] / 1000},
            }
            log(f"cpu_per_request: {name}: {results[name]}")
    for baseline in BASELINES:
        base = results[baseline]["cpu_ms_per_request"]
        for result in results.values():
            result[f"ratio_to_{baseline}"] = round(result["cpu_ms_per_request"] / base, 3)
    emit(
        {
            "benchmark": "cpu_per_request",
            "duration_s": args.duration,
            "warmup_s": WARMUP_S,
            "wrk": {"threads": THREADS, "connections": CONNECTIONS},
            "app_workers": len(workers),
            "scenarios": results,
            "targets": {
                baseline: {
                    name: {
                        "max_ratio": limit,
                        "ratio": results[name][f"ratio_to_{baseline}"],
                        "met": results[name][f"ratio_to_{baseline}"] <= limit,
                    }
                    for name, limit in TARGETS.items()
                    if name in results
                }
                for baseline in BASELINES
            },
        }
    )


if __name__ == "__main__":
    main()
