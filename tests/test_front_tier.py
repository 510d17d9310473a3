"""The front tier as the stack runs it: nginx on PUBLIC_URL over at least two
gunicorn masters, PgBouncer in front of every PostgreSQL server.

Against the real processes of the test stack (no mocks). The tests that kill
or restart processes are in test_front_tier_load.py (serial).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
import redis.asyncio as aioredis
from django.conf import settings

from backend.ratelimit import PREFIX
from backend.shards import db
from tests.frontier import (
    access_log,
    child_pid,
    cmdline,
    descendants,
    instance_port,
    instances,
    pg_ports,
    pgbouncer_ports,
    running,
    tcp_clients,
    wait_for,
)
from tests.graphql import VIEWER, gql, sign_up

ROOT = Path(__file__).resolve().parent.parent


async def test_readyz_and_graphql_answer_through_nginx(edge: httpx.AsyncClient) -> None:
    ready = await edge.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.headers["server"] == "nginx"
    assert ready.json()["failed"] == []
    body = await gql(edge, VIEWER)
    assert body["data"] == {"viewer": None}


async def test_at_least_two_gunicorn_masters_serve_behind_nginx(
    edge: httpx.AsyncClient, edge_url: str
) -> None:
    assert instances() >= 2
    masters = {child_pid(f"app{i}") for i in range(1, instances() + 1)}
    assert len(masters) == instances() and all(running(p) for p in masters)
    for pid in masters:
        assert "gunicorn" in cmdline(pid)
    ports = {str(instance_port(i)) for i in range(1, instances() + 1)}
    marker = f"/healthz?spread={uuid.uuid4().hex}"
    for _ in range(40):
        assert (await edge.get(marker)).status_code == 200
    # nginx writes its log every 200 ms: wait for our requests to show.
    wait_for(
        lambda: len([r for r in access_log() if marker in r[1]]) == 40, 5, "nginx's access log"
    )
    served = {r[2].rsplit(":", 1)[1] for r in access_log() if marker in r[1]}
    assert served == ports, f"nginx sent to {served}, instances listen on {ports}"


async def test_the_client_ip_behind_nginx_is_the_real_peer_not_a_forged_header(
    edge_url: str,
) -> None:
    """The rate limits key anonymous callers by IP: through nginx, from a second
    loopback address, the bucket is that address's, whatever X-Forwarded-For
    the client sends."""
    assert settings.TRUSTED_PROXIES, "the stack trusts its nginx"
    peer = f"127.0.{uuid.uuid4().int % 200 + 20}.{uuid.uuid4().int % 250 + 2}"
    forged = "203.0.113.77"
    transport = httpx.AsyncHTTPTransport(local_address=peer)
    async with httpx.AsyncClient(transport=transport, base_url=edge_url, timeout=10) as c:
        response = await c.post(
            "/graphql", json={"query": VIEWER}, headers={"X-Forwarded-For": forged}
        )
    assert response.status_code == 200, response.text
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    try:
        assert await client.exists(f"{PREFIX}cost_anonymous:ip:{peer}") == 1
        assert await client.exists(f"{PREFIX}cost_anonymous:ip:{forged}") == 0
    finally:
        await client.aclose()


async def _raw(port: int, head: bytes, body: bytes = b"", read_timeout: float = 10) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + body)
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), read_timeout)
    finally:
        writer.close()


async def test_nginx_refuses_a_body_over_the_apps_limit_before_reading_it() -> None:
    limit = settings.PHOTO_MAX_BYTES + 2**20
    port = int(os.environ["NGINX_PORT"])
    marker = uuid.uuid4().hex
    head = (
        f"POST /graphql?too_big={marker} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {limit + 1}\r\n\r\n"
    ).encode()
    answer = await _raw(port, head)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"Server: nginx" in answer
    # A body at the limit is passed on (the app decides): nginx's limit is not lower.
    at_limit = await _raw(
        port,
        head.replace(str(limit + 1).encode(), str(limit).encode()),
        b"{" + b" " * (limit - 2) + b"}",
        read_timeout=60,
    )
    assert not at_limit.startswith(b"HTTP/1.1 413"), at_limit[:200]
    wait_for(lambda: any(marker in r[1] for r in access_log()), 5, "the access log")
    too_big = [r for r in access_log() if marker in r[1]]
    assert too_big[0][2] == "-", "the oversized request reached an instance"


async def test_nginx_serves_the_web_clients_files_from_disk_and_its_pages_from_the_app(
    edge: httpx.AsyncClient,
) -> None:
    dist = ROOT / "frontend-sample" / "dist"
    assert (dist / "index.html").exists(), "make up builds the web client"
    root = await edge.get("/")
    assert root.status_code == 302 and root.headers["location"].endswith("/app/")
    page = await edge.get("/app/")
    assert page.status_code == 200 and page.text == (dist / "index.html").read_text()
    assert "script-src 'self'" in page.headers["content-security-policy"]  # the app's
    asset = next(p for p in (dist / "assets").iterdir() if p.suffix == ".js")
    graphiql = next(p for p in (dist / "graphiql").rglob("*") if p.suffix in {".js", ".css"})
    marker = uuid.uuid4().hex
    served = await edge.get(f"/app/assets/{asset.name}?{marker}")
    assert served.status_code == 200 and served.content == asset.read_bytes()
    assert "immutable" in served.headers["cache-control"]
    assert served.headers["x-content-type-options"] == "nosniff"
    path = graphiql.relative_to(dist / "graphiql").as_posix()
    files = await edge.get(f"/static/graphiql/{path}?{marker}")
    assert files.status_code == 200 and files.content == graphiql.read_bytes()
    # From disk: no instance saw these two requests.
    wait_for(lambda: len([r for r in access_log() if marker in r[1]]) == 2, 5, "the access log")
    assert [r[2] for r in access_log() if marker in r[1]] == ["-", "-"]


def _listen_sessions(server: str) -> set[int]:
    """Client ports of the backends of `server` that hold a LISTEN (the outbox relay's)."""
    name = db.DIRECTORY if server == "directory" else server
    with psycopg.connect(db.direct_conninfo(name), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT client_port FROM pg_stat_activity WHERE query LIKE 'LISTEN %'"
        ).fetchall()
    return {int(r[0]) for r in rows if r[0] is not None}


async def test_the_app_reaches_postgresql_only_through_pgbouncer(
    edge: httpx.AsyncClient, unique: str
) -> None:
    """The instances connect to PostgreSQL only through PgBouncer; the workers
    too, but for the outbox relay's LISTEN sessions, which need their own."""
    user = await sign_up(edge, f"pgb_{unique}")
    body = await gql(edge, VIEWER, token=user["token"])
    assert body["data"]["viewer"]["username"] == f"pgb_{unique}"
    web = set()
    for i in range(1, instances() + 1):
        web |= descendants(child_pid(f"app{i}"))
    workers = descendants(child_pid("worker"))
    for server, port in pg_ports().items():
        clients = tcp_clients(port)
        direct = [c for c in clients if c[1] in web]
        assert direct == [], f"{server}: app instances connected directly: {direct}"
        listening = _listen_sessions(server)
        from_workers = [c for c in clients if c[1] in workers and c[2] not in listening]
        assert from_workers == [], f"{server}: workers connected directly: {from_workers}"
        assert any(c[0] == "pgbouncer" for c in clients), f"{server}: no PgBouncer connection"
    through = {c[1] for port in pgbouncer_ports() for c in tcp_clients(port)}
    assert through & web and through & workers, "instances and workers hold PgBouncer connections"


def _pgbouncer_show(port: int, what: str) -> list[dict[str, object]]:
    """SHOW `what` on PgBouncer's admin console."""
    url = f"postgresql://photoshare@127.0.0.1:{port}/pgbouncer"
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(f"SHOW {what}")
        names = [d.name for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_pgbouncer_pools_in_transaction_mode_with_the_configured_sizes() -> None:
    pool_size = int(os.environ["PGBOUNCER_POOL_SIZE"])
    nested = int(os.environ["PGBOUNCER_NESTED_POOL_SIZE"])
    for port in pgbouncer_ports():
        config = {r["key"]: r["value"] for r in _pgbouncer_show(port, "CONFIG")}
        assert config["pool_mode"] == "transaction", port
        pools = {r["name"]: r for r in _pgbouncer_show(port, "DATABASES")}
        pools.pop("pgbouncer")
        # The main pool, the nested transactions' pool, and the route of
        # reads that may be stale to the pair's other instance, its hot
        # standby (docs/decisions/0068-replica-reads.md).
        main = next(n for n in pools if not str(n).endswith(("_nested", "_replica")))
        nested_name = f"{main}{settings.DB_NESTED_POOL_SUFFIX}"
        replica_name = f"{main}{settings.DB_REPLICA_POOL_SUFFIX}"
        assert set(pools) == {main, nested_name, replica_name}, pools
        for name, row in pools.items():
            want = nested if name == nested_name else pool_size
            assert row["pool_size"] == want, row
        assert pools[replica_name]["database"] == pools[main]["database"]
        assert pools[replica_name]["port"] != pools[main]["port"], "not routed to the standby"


@pytest.mark.parametrize("server", ["default", "shard1"])
def test_direct_urls_reach_postgresql_itself(server: str) -> None:
    """What needs a session (migrations, moves, LISTEN) can get one."""
    name = db.DIRECTORY if server == "default" else server
    with psycopg.connect(db.direct_conninfo(name), autocommit=True) as conn:
        conn.execute("LISTEN front_tier_check")
        port = conn.execute("SELECT inet_server_port()").fetchone()
    assert port is not None and port[0] in pg_ports().values()
    assert db.direct_conninfo(name) != db.conninfo(name)
