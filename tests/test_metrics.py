"""Metrics: /metrics of the app instance and of the workers (the stack's real
gunicorn and Dramatiq processes), after real traffic; Prometheus scraping
every target with the alert rules loaded."""

from __future__ import annotations

import asyncio
import os
import re
import time
from typing import Any

import httpx
import pytest

from tests import imagegen
from tests.graphql import gql, upload
from tests.shardutil import users_on_every_server

DEADLINE = 30.0
FOLLOW = "mutation($id: ID!) { follow(userId: $id) { id } }"
LIKE = "mutation LikePhoto($id: ID!) { likePhoto(id: $id) { id } }"
COMMENT = "mutation($id: ID!, $t: String!) { addComment(photoId: $id, text: $t) { id } }"
REGISTER = "mutation($t: String!) { registerDevice(token: $t) }"
FEED = "query Feed { feed(first: 5) { edges { node { id owner { username } } } } }"

# Served by the web instances' /metrics.
WEB_NAMES = [
    "photoshare_graphql_requests_total",
    "photoshare_graphql_request_duration_seconds_count",
    "photoshare_graphql_query_cost_count",
    "photoshare_photos_uploaded_total",
    "photoshare_likes_total",
    "photoshare_comments_total",
    "photoshare_follows_total",
    "photoshare_shard_statements_total",
    "photoshare_shard_statement_duration_seconds_count",
    "photoshare_cache_requests_total",
]
# Counted where the work happens: in the workers.
WORKER_NAMES = [
    "photoshare_feed_deliveries_total",
    "photoshare_fanout_lag_seconds_count",
    "photoshare_push_sent_total",
    "photoshare_worker_loop_lag_seconds_count",
    "dramatiq_messages_total",
    "dramatiq_message_duration_milliseconds_count",
]
# Present (at 0 until something is refused) on the web instances.
PRESENT_NAMES = ["photoshare_rate_limited_total"]


def parse(text: str) -> dict[str, float]:
    """`name{labels}` -> value, for every sample."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(
        v
        for key, v in samples.items()
        if re.fullmatch(rf"{name}(\{{.*\}})?", key) and all(w in key for w in want)
    )


def scrape(url: str) -> dict[str, float]:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def shard_servers() -> list[str]:
    return [s.split("=")[0] for s in os.environ["SHARD_DATABASE_URLS"].split(",")]


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def worker_url() -> str:
    return f"http://127.0.0.1:{os.environ['WORKER_METRICS_PORT']}/metrics"


async def wait_until(check: Any, what: str) -> Any:
    end = time.monotonic() + DEADLINE
    while True:
        result = check()
        if result or time.monotonic() > end:
            assert result, f"{what}: not within {DEADLINE} s"
            return result
        await asyncio.sleep(0.2)


async def test_metrics_count_real_traffic(live: httpx.AsyncClient, live_url: str, unique: str):
    web_before = scrape(f"{live_url}/metrics")
    worker_before = scrape(worker_url())

    # One on each shard server: both see statements from this instance.
    owner, fan = await users_on_every_server(live, f"met_{unique}", 2)
    device = os.urandom(32).hex()
    assert "errors" not in await gql(live, REGISTER, {"t": device}, token=owner["token"])
    assert "errors" not in await gql(live, FOLLOW, {"id": owner["user"]["id"]}, token=fan["token"])
    # A feed is kept in Redis once its reader has read it: the upload is then delivered.
    assert "errors" not in await gql(live, FEED, token=fan["token"])
    body = await upload(live, owner["token"], imagegen.png_bytes(32, 24))
    photo_id = body["data"]["uploadPhoto"]["id"]
    assert "errors" not in await gql(live, LIKE, {"id": photo_id}, token=fan["token"])
    assert "errors" not in await gql(live, COMMENT, {"id": photo_id, "t": "hi"}, token=fan["token"])

    async def in_feed() -> bool:
        feed = await gql(live, FEED, token=fan["token"])
        return any(e["node"]["id"] == photo_id for e in feed["data"]["feed"]["edges"])

    end = time.monotonic() + DEADLINE
    while not await in_feed():
        assert time.monotonic() < end, "the photo never reached the follower's feed"
        await asyncio.sleep(0.2)

    web = scrape(f"{live_url}/metrics")
    for name in [*WEB_NAMES, *PRESENT_NAMES]:
        assert any(re.fullmatch(rf"{name}(\{{.*\}})?", k) for k in web), f"{name} not served"
    for name in ["photoshare_photos_uploaded_total", "photoshare_likes_total"]:
        assert total(web, name) >= total(web_before, name) + 1, name
    assert total(web, "photoshare_comments_total") > total(web_before, "photoshare_comments_total")
    assert total(web, "photoshare_follows_total") > total(web_before, "photoshare_follows_total")
    # The clients' operation names are labels; their outcome too.
    assert total(web, "photoshare_graphql_requests_total", operation="Feed", code="OK") > 0
    durations = "photoshare_graphql_request_duration_seconds_count"
    assert total(web, durations, operation="LikePhoto") > 0
    assert total(web, "photoshare_graphql_query_cost_count") > 0
    for server in ["default", *shard_servers()]:
        assert total(web, "photoshare_shard_statements_total", server=server) > 0, server
    assert total(web, "photoshare_cache_requests_total", cache="user") > 0
    assert total(web, "photoshare_rate_limited_total", limit="cost") == total(
        web_before, "photoshare_rate_limited_total", limit="cost"
    )

    def worker_counted() -> dict[str, float] | None:
        worker = scrape(worker_url())
        grew = all(
            total(worker, name) > total(worker_before, name)
            for name in ["photoshare_feed_deliveries_total", "photoshare_fanout_lag_seconds_count"]
        ) and total(worker, "photoshare_push_sent_total", result="sent") > total(
            worker_before, "photoshare_push_sent_total", result="sent"
        )
        return worker if grew else None

    worker = await wait_until(worker_counted, "the workers' deliveries and pushes")
    for name in WORKER_NAMES:
        assert total(worker, name) > 0, name
    assert total(worker, "dramatiq_messages_total", actor_name="deliver_photo") > 0
    # Fan-out lag: from the photo's commit to its delivery, a few seconds here.
    lag_sum = total(worker, "photoshare_fanout_lag_seconds_sum")
    assert 0 < lag_sum < 3600 * total(worker, "photoshare_fanout_lag_seconds_count")


async def test_operation_labels_are_bounded(client: httpx.AsyncClient, unique: str):
    """Anonymous and unknown operations group by root field; a made-up name or
    field never becomes a label value."""
    await gql(client, "{ viewer { id } }")
    await gql(client, f"query Invented{unique} {{ viewer {{ id }} }}")
    await gql(client, f"query {{ noSuchField{unique} }}")
    text = (await client.get("/metrics")).text
    assert 'code="OK",operation="query:viewer"' in text
    assert 'code="BAD_USER_INPUT",operation="query:other"' in text
    assert unique not in text


async def test_rate_limit_refusals_are_counted(client: httpx.AsyncClient, settings: Any, unique):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signup_ip": "1/3600"}
    from backend.graph import limits

    limits._parsed.cache_clear()
    before = parse((await client.get("/metrics")).text)
    for i in range(2):
        await sign_up_raw(client, f"rl{i}_{unique}", ip=f"198.51.100.{int(unique[:2], 16)}")
    after = parse((await client.get("/metrics")).text)
    key = 'photoshare_rate_limited_total{limit="signup_ip"}'
    assert after[key] == before.get(key, 0) + 1


async def sign_up_raw(client: httpx.AsyncClient, name: str, *, ip: str) -> None:
    from tests.graphql import SIGN_UP

    await client.post(
        "/graphql",
        json={"query": SIGN_UP, "variables": {"username": name, "password": "pw-long-enough"}},
        headers={"X-Forwarded-For": ip},
    )


def prometheus(path: str, **params: str) -> Any:
    url = f"http://127.0.0.1:{os.environ['PROMETHEUS_PORT']}{path}"
    response = httpx.get(url, params=params, timeout=10)
    response.raise_for_status()
    return response.json()["data"]


async def test_prometheus_scrapes_every_target_and_loads_the_rules():
    jobs = {"app", "worker", "postgres", "redis", "memcached", "node", "prometheus"}
    jobs |= {"alertmanager", "probe_readyz", "probe_graphql"}

    def all_up() -> list[dict[str, Any]] | None:
        targets = prometheus("/api/v1/targets")["activeTargets"]
        ok = {t["labels"]["job"] for t in targets} >= jobs and all(
            t["health"] == "up" for t in targets
        )
        return targets if ok else None

    targets = await wait_until(all_up, "every target up")
    servers = {t["labels"].get("server") for t in targets if t["labels"]["job"] == "postgres"}
    assert servers == {"directory", *shard_servers()}
    rules = [r["name"] for g in prometheus("/api/v1/rules")["groups"] for r in g["rules"]]
    for alert in [
        "GraphQLErrorRatioHigh",
        "FeedLatencyHigh",
        "ShardServerDown",
        "RedisDown",
        "FanoutLagHigh",
        "QueueBacklog",
        "ReplicaLagHigh",
        "StandbyMissing",
        "RedisReplicaMissing",
        "DiskFilling",
        "PushFailing",
        "ProbeFailing",
    ]:
        assert alert in rules
    # The probes pass, and the app's series are in Prometheus.
    probes = prometheus("/api/v1/query", query="probe_success")["result"]
    assert {p["metric"]["job"] for p in probes} == {"probe_readyz", "probe_graphql"}
    assert all(p["value"][1] == "1" for p in probes), probes
    names = prometheus("/api/v1/label/__name__/values")
    assert "photoshare_graphql_requests_total" in names
    assert "pg_up" in names and "redis_up" in names and "memcached_up" in names
    # Every primary reports its synchronous standby and its lag
    # (deploy/prometheus/postgres_queries.yaml).
    sync = prometheus("/api/v1/query", query="pg_standbys_sync")["result"]
    assert {s["metric"]["server"]: s["value"][1] for s in sync} == {
        name: "1" for name in ("directory", *shard_servers())
    }
    lag = prometheus("/api/v1/query", query="pg_replication_lag_seconds")["result"]
    assert {s["metric"]["server"] for s in lag} == {"directory", *shard_servers()}

    # And Redis its replica (RedisReplicaMissing).
    def one_replica() -> list[Any] | None:
        found = prometheus("/api/v1/query", query="redis_connected_slaves")["result"]
        return found if [r["value"][1] for r in found] == ["1"] else None

    await wait_until(one_replica, "the Redis primary reports its one replica")


def test_the_public_entry_point_does_not_serve_metrics():
    public = os.environ.get("PUBLIC_URL")
    if not public:
        pytest.skip("no public entry point (nginx) in this stack")
    assert httpx.get(f"{public}/metrics", timeout=10).status_code == 404


@pytest.mark.serial
def test_counters_survive_a_worker_restart(live_url: str):
    """Multiprocess: every gunicorn worker's counts are summed, and a worker
    that exits leaves its counts in the sum."""
    metrics_dir = os.path.join(os.environ["STACK_DIR"], "metrics", f"web-{os.environ['APP_PORT']}")
    for _ in range(40):  # new connections: both workers answer some
        httpx.post(f"{live_url}/graphql", json={"query": "{ __typename }"}, timeout=10)
    before = total(scrape(f"{live_url}/metrics"), "photoshare_graphql_requests_total")
    pids = {int(m) for m in re.findall(r"_(\d+)\.db$", "\n".join(os.listdir(metrics_dir)))}
    master = int(read(os.path.join(os.environ["STACK_DIR"], "run", "app1.child.pid")))
    workers = [int(p) for p in read(f"/proc/{master}/task/{master}/children").split()]
    counted = sorted(pids & set(workers))
    assert counted, "a live worker wrote its counts"
    victim = counted[0]
    os.kill(victim, 15)  # a worker of the stack's gunicorn: its master starts another

    def replaced() -> bool:
        now = [int(p) for p in read(f"/proc/{master}/task/{master}/children").split()]
        return victim not in now and len(now) == len(workers)

    end = time.monotonic() + DEADLINE
    while not replaced():
        assert time.monotonic() < end, "gunicorn did not replace the worker"
        time.sleep(0.2)
    # The exited worker's counts stay in the sum (its file stays).
    assert any(f.endswith(f"_{victim}.db") for f in os.listdir(metrics_dir))
    after = total(scrape(f"{live_url}/metrics"), "photoshare_graphql_requests_total")
    assert after >= before
