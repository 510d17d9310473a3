"""compose.yaml describes the same stack with the same variables.

There is no Docker engine here, so the file is checked structurally: what
`docker compose config` would reject (unknown services in depends_on,
undeclared volumes, bad conditions) and what would run but be wrong
(variables the app does not read, URLs naming missing services).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from backend.settings.env import VARIABLES, database_settings, shard_servers

ROOT = Path(__file__).resolve().parent.parent
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
REQUIRED_ENV = {
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY",
    "DIRECTORY_DATABASE_URL",
    "SHARD_DATABASE_URLS",
    "LOGICAL_SHARDS",
    "REDIS_URL",
    "MEMCACHED_LOCATION",
    "S3_ENDPOINT_URL",
    "S3_BUCKET",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "ALLOWED_HOSTS",
    "SENTRY_DSN",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def test_every_service_runs_something(compose):
    services = compose["services"]
    assert {"directory", "shard1", "shard2", "redis", "memcached", "s3", "app", "worker"} <= set(
        services
    )
    for name, service in services.items():
        assert "image" in service or "build" in service, name
    for name in ("directory", "shard1", "shard2"):
        assert services[name]["image"].startswith("postgres:")
        assert "pg_isready" in " ".join(services[name]["healthcheck"]["test"])


def test_dependencies_and_volumes_resolve(compose):
    services = compose["services"]
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for dep, spec in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert spec["condition"] in CONDITIONS, (name, dep)
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{dep} has no healthcheck"
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0]
            assert source.startswith((".", "/")) or source in declared, (name, source)


def test_only_the_app_port_is_published_on_loopback(compose):
    published = {
        name: service["ports"]
        for name, service in compose["services"].items()
        if "ports" in service
    }
    assert published == {"app": ["127.0.0.1:8000:8000"]}


def test_app_and_worker_read_the_documented_variables(compose):
    services = compose["services"]
    for name in ("app", "worker", "migrate"):
        env = services[name]["environment"]
        assert set(env) <= set(VARIABLES), set(env) - set(VARIABLES)
        assert set(env) >= REQUIRED_ENV, REQUIRED_ENV - set(env)
    assert services["app"]["environment"] == services["worker"]["environment"]


def test_urls_point_at_compose_services(compose):
    services = compose["services"]
    env = services["app"]["environment"]
    servers = shard_servers(env["SHARD_DATABASE_URLS"])
    assert len(servers) >= 2
    for url in [env["DIRECTORY_DATABASE_URL"], *servers.values()]:
        host = str(database_settings(url, pool_max=1)["HOST"])
        assert host in services and services[host]["image"].startswith("postgres:"), url
    for url in (env["REDIS_URL"], env["S3_ENDPOINT_URL"]):
        assert urlsplit(url).hostname in services, url
    assert env["MEMCACHED_LOCATION"].split(":")[0] in services
