"""The front tier under load (serial: these restart and kill app instances).

- 300 concurrent clients through nginx: each PostgreSQL server sees no more
  connections than PgBouncer's pools, and no request fails;
- an instance killed by its pid: no idempotent request is lost, nginx stops
  sending to it within a second, and it is back in rotation on its own;
- a rolling deploy (deploy/fabfile.py) under 30 s of reads and likes: zero
  failed requests, and every acknowledged like is there afterwards.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from backend.shards import db
from tests.frontier import (
    access_log,
    child_pid,
    instance_port,
    pg_ports,
    running,
    tcp_clients,
    wait_for,
)
from tests.graphql import gql, sign_up, upload
from tests.imagegen import phone_jpeg
from tests.wrkload import finish, read_path, start

pytestmark = pytest.mark.serial
ROOT = Path(__file__).resolve().parent.parent
FAIL_TIMEOUT = 3.0  # nginx's fail_timeout (scripts/stack.sh upstream lines)
NGINX_WORKERS = 2


def _reads(username: str, photo_ids: list[str]) -> list[str]:
    """GET reads touching the directory and the shards."""
    return [
        read_path(f'{{ user(username: "{username}") {{ id photoCount followerCount }} }}'),
        *(
            read_path(f'{{ photo(id: "{p}") {{ id likeCount owner {{ id }} }} }}')
            for p in photo_ids
        ),
    ]


async def _owner_with_photos(client: httpx.AsyncClient, name: str, n: int) -> tuple[str, list[str]]:
    owner = await sign_up(client, name)
    ids = []
    for i in range(n):
        body = await upload(client, owner["token"], phone_jpeg(64, 48, seed=i))
        assert "errors" not in body, body
        ids.append(body["data"]["uploadPhoto"]["id"])
    return name, ids


class ConnectionSampler:
    """The most connections each PostgreSQL server had at once, sampled every
    20 ms from pg_stat_activity (the sampler's own excluded), and how many of
    them came from PgBouncer (ss)."""

    def __init__(self) -> None:
        self.most: dict[str, int] = dict.fromkeys(pg_ports(), 0)
        self.most_pgbouncer: dict[str, int] = dict.fromkeys(pg_ports(), 0)
        self.others: dict[str, set[str]] = {s: set() for s in pg_ports()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        servers = {"directory": db.DIRECTORY, **{s: s for s in pg_ports() if s != "directory"}}
        conns = {
            s: psycopg.connect(db.direct_conninfo(servers[s]), autocommit=True) for s in servers
        }
        try:
            while not self._stop.is_set():
                for name, conn in conns.items():
                    row = conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                        "'client backend' AND pid <> pg_backend_pid() "
                        "AND query NOT LIKE 'LISTEN %'"  # the outbox relay's, direct
                        # the server's own monitoring (scripts/monitoring.sh)
                        " AND application_name <> 'postgres_exporter'"
                    ).fetchone()
                    assert row is not None
                    self.most[name] = max(self.most[name], int(row[0]))
                    clients = tcp_clients(pg_ports()[name])
                    bouncer = [c for c in clients if c[0] == "pgbouncer"]
                    self.most_pgbouncer[name] = max(self.most_pgbouncer[name], len(bouncer))
                    self.others[name] |= {c[0] for c in clients if c[0] != "pgbouncer"}
                time.sleep(0.02)
        finally:
            for conn in conns.values():
                conn.close()

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def test_300_concurrent_clients_stay_within_pgbouncers_pools(
    edge: httpx.AsyncClient, edge_url: str, unique: str
) -> None:
    name, photos = await _owner_with_photos(edge, f"c300_{unique}", 3)
    pool = int(os.environ["PGBOUNCER_POOL_SIZE"]) + int(os.environ["PGBOUNCER_NESTED_POOL_SIZE"])
    with ConnectionSampler() as sampler:
        proc, out = start(edge_url, reads=_reads(name, photos), seconds=8, connections=300)
        result = await asyncio.to_thread(finish, proc, out)
    print(f"300 clients: {result}, most connections per server {sampler.most}")
    assert result.all_ok, result
    assert result.requests > 200, result
    for server in pg_ports():
        assert sampler.most_pgbouncer[server] <= pool, (server, sampler.most_pgbouncer)
        # Anything else connected comes on top: this test process's Django
        # connection (at most one per server), the outbox relay's LISTEN
        # session (not counted), the server's postgres_exporter (process name
        # cut at 15 characters; it watches the server itself, so it connects
        # directly) and the server's standby streaming WAL (a postgres process:
        # docs/decisions/0061-synchronous-standbys.md); never an app instance.
        allowed = {"python", "python3", "dramatiq", "prometheus-post", "postgres"}
        assert sampler.others[server] <= allowed, sampler.others
        assert sampler.most[server] <= pool + 1, (server, sampler.most)


async def test_an_instance_killed_by_pid_loses_no_read_and_returns_on_its_own(
    edge: httpx.AsyncClient, edge_url: str, unique: str
) -> None:
    name, photos = await _owner_with_photos(edge, f"kill_{unique}", 2)
    victim = child_pid("app1")
    port = str(instance_port(1))
    proc, out = start(edge_url, reads=_reads(name, photos), seconds=12, connections=16)
    await asyncio.sleep(3)
    killed_at = time.time()
    os.kill(victim, signal.SIGKILL)  # the instance's gunicorn master, by pid
    # Its supervisor starts it again; nginx takes it back after fail_timeout.
    wait_for(lambda: child_pid("app1") != victim and running(child_pid("app1")), 30, "app1 back")
    async with httpx.AsyncClient(timeout=5) as direct:
        for _ in range(300):
            try:
                if (await direct.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    back_at = time.time()
    result = await asyncio.to_thread(finish, proc, out)
    print(f"kill: {result}; app1 back after {back_at - killed_at:.1f} s")
    assert result.all_ok, result  # every request was an idempotent GET

    wait_for(lambda: access_log()[-1][0] >= back_at, 5, "the access log")
    log = [r for r in access_log() if r[0] >= killed_at - 1]
    failed_on_victim = [
        r
        for r in log
        if any(
            a.endswith(":" + port) and s in {"502", "504", "-"}
            for a, s in zip(r[2].split(", "), r[3].split(", "), strict=False)
        )
    ]
    late = [r for r in failed_on_victim if killed_at + 1 <= r[0] <= back_at]
    # After the first second, nginx tries the dead instance at most once per
    # fail_timeout per worker (and a refused connection is retried elsewhere).
    window = max(back_at - killed_at - 1, 0)
    bound = NGINX_WORKERS * (math.ceil(window / FAIL_TIMEOUT) + 1)
    assert len(late) <= bound, (len(late), bound, late[:5])
    # And it is back in rotation with no manual step: nginx sends to it again.
    marker = f"/healthz?back={unique}"
    for _ in range(8):
        await asyncio.sleep(FAIL_TIMEOUT / 2)
        for _ in range(20):
            assert (await edge.get(marker)).status_code == 200
        await asyncio.sleep(0.3)
        served = [r for r in access_log() if marker in r[1] and r[3].endswith("200")]
        if any(r[2].split(", ")[-1].endswith(":" + port) for r in served):
            break
    else:
        raise AssertionError("nginx never sent to the restarted instance")


async def test_a_rolling_deploy_under_load_fails_no_request_and_keeps_every_like(
    edge: httpx.AsyncClient, edge_url: str, unique: str
) -> None:
    name, photos = await _owner_with_photos(edge, f"dep_{unique}", 24)
    users = [await sign_up(edge, f"dep{i}_{unique}") for i in range(16)]
    tokens = [u["token"] for u in users]
    masters = {i: child_pid(f"app{i}") for i in (1, 2)}
    worker = child_pid("worker")
    proc, out = start(
        edge_url,
        reads=_reads(name, photos),
        # The load runs from before the deploy until 3 s after it (about 30 s
        # of deploy: migrations of 512 schemas, two instances, the workers).
        seconds=300,
        connections=16,
        tokens=tokens,
        photos=photos,
        like_share=40,
    )
    await asyncio.sleep(2)
    started = time.monotonic()
    deploy = await asyncio.to_thread(
        subprocess.run,
        [
            str(ROOT / ".venv/bin/fab"),
            "-r",
            str(ROOT / "deploy"),
            "deploy",
            "--profile",
            os.environ["STACK_PROFILE"],
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    print(f"rolling deploy took {time.monotonic() - started:.1f} s")
    await asyncio.sleep(3)
    assert proc.poll() is None, "the load ended before the deploy did"
    result = await asyncio.to_thread(finish, proc, out, stop=True)
    print(
        f"rolling deploy: {result.requests} requests, {result.failed} failed, "
        f"{len(result.acked)} likes acknowledged, sockets {result.socket_errors}"
    )
    # Every instance and the workers run new processes.
    for i, pid in masters.items():
        assert child_pid(f"app{i}") != pid, f"app{i} was not restarted"
    assert child_pid("worker") != worker, "the workers were not restarted"
    # No request got a failed answer: every one of them was answered 200 with
    # no GraphQL error.
    assert result.requests > 1000 and result.failed == 0 and result.non2xx == 0, result
    assert result.socket_errors["connect"] == result.socket_errors["timeout"] == 0, result
    assert result.socket_errors["write"] == 0, result
    # What wrk counts as a `read` error here is a keep-alive connection that an
    # exiting nginx worker closed as idle while wrk was writing its next
    # request into it (each reload replaces the workers). Browsers and HTTP
    # libraries resend on such a stale connection; wrk does not. Bounded by the
    # deploy's reloads (two per instance) times nginx's workers.
    assert result.socket_errors["read"] <= 2 * len(masters) * NGINX_WORKERS, result
    assert result.acked, "no like was acknowledged"

    # Every acknowledged like is there: each photo counts at least the users
    # acknowledged as liking it (nothing else likes these photos), and each
    # user sees their like. wrk is stopped with requests in flight: a like it
    # sent but whose answer it never read may have committed too, one per
    # connection at most.
    likers: dict[int, set[int]] = {}
    for u, p in result.acked:
        likers.setdefault(p, set()).add(u)
    fields = " ".join(f'p{p}: photo(id: "{photos[p]}") {{ likeCount }}' for p in range(len(photos)))
    body = await gql(edge, f"{{ {fields} }}")
    assert "errors" not in body, body
    extra = 0
    for p in range(len(photos)):
        count = body["data"][f"p{p}"]["likeCount"]
        assert count >= len(likers.get(p, ())), (p, count, likers.get(p))
        extra += count - len(likers.get(p, ()))
    assert extra <= 16, extra  # the run's connections
    for u, token in enumerate(tokens):
        mine = [p for p, us in likers.items() if u in us]
        if not mine:
            continue
        fields = " ".join(f'p{p}: photo(id: "{photos[p]}") {{ viewerHasLiked }}' for p in mine)
        body = await gql(edge, f"{{ {fields} }}", token=token)
        assert all(body["data"][f"p{p}"]["viewerHasLiked"] for p in mine), body
