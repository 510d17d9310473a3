"""compose.yaml and the Dockerfile describe the same stack as `make up`.

There is no Docker engine here, so the files are checked without one: against
the compose-spec JSON schema (shipped in the check-jsonschema package), then
for what the schema cannot see: references between services and volumes,
variables the app does not read or misses, URLs that name no service, commands
that do not exist, and an image that would not start the way compose expects.
No test touches a database.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shlex
from fnmatch import fnmatch
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema.validators import validator_for

from backend.settings.env import VARIABLES, database_settings, shard_servers

ROOT = Path(__file__).resolve().parent.parent
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
DATABASES = {"directory", "shard1", "shard2"}
APP_SERVICES = ("migrate", "app1", "app2", "worker")
INSTANCES = ("app1", "app2")
PGBOUNCERS = {
    "directory": "pgbouncer-directory",
    "shard1": "pgbouncer-shard1",
    "shard2": "pgbouncer-shard2",
}
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
GUNICORN = "gunicorn backend.asgi:application -k uvicorn_worker.UvicornWorker -b 0.0.0.0:8000"
MIGRATE = (
    "python manage.py migrate --noinput && python manage.py migrate_shards"
    " && python manage.py ensure_bucket"
)

# Compose interpolation: $$ (a literal $), ${NAME}, ${NAME:-default},
# ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+alt}, $NAME.
INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value: str, environ: dict[str, str] | None = None) -> str:
    """What compose makes of `value` with `environ` as the host environment."""
    environ = environ or {}

    def replace(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        name = m["braced"] or m["named"]
        op, arg = m["op"] or "", m["arg"] or ""
        present = name in environ
        value = environ.get(name, "")
        if op in {":-", "-"}:
            use_default = not value if op == ":-" else not present
            return arg if use_default else value
        if op in {":?", "?"}:
            if (not value) if op == ":?" else (not present):
                raise LookupError(f"${{{name}}} is required: {arg}")
            return value
        if op == ":+":
            return arg if value else ""
        if op == "+":
            return arg if present else ""
        if not present:
            raise LookupError(f"${name} has no default: compose would use an empty string")
        return value

    return INTERPOLATION.sub(replace, value)


def command_text(command: str | list[str]) -> str:
    """A service's command as one shell-like string, after interpolation."""
    if isinstance(command, str):
        return interpolate(command)
    parts = [interpolate(str(part)) for part in command]
    if parts[:2] == ["sh", "-c"]:
        return parts[2]
    return shlex.join(parts)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


@pytest.fixture(scope="module")
def app_env(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The app's environment as the container sees it with no .env file."""
    return {k: interpolate(str(v)) for k, v in services["app1"]["environment"].items()}


@pytest.fixture(scope="module")
def compose_validator() -> Any:
    text = (files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text()
    schema = json.loads(text)
    cls = validator_for(schema)
    cls.check_schema(schema)
    # No format checker: the spec's "duration" fields take Go durations ("2s"),
    # which JSON Schema's ISO 8601 format would reject.
    return cls(schema)


def _schema_errors(validator: Any, document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_compose_file_matches_the_compose_spec(compose, compose_validator):
    assert _schema_errors(compose_validator, compose) == []


def test_the_compose_spec_check_catches_a_misspelled_key(compose, compose_validator):
    broken = copy.deepcopy(compose)
    broken["services"]["app1"] = dict(broken["services"]["app1"])
    broken["services"]["app1"]["enviroment"] = broken["services"]["app1"].pop("environment")
    broken["services"]["worker"]["depends_on"]["migrate"]["condition"] = "service_done"
    errors = _schema_errors(compose_validator, broken)
    assert any("enviroment" in e for e in errors), errors
    assert any(e.startswith("services/worker/depends_on") for e in errors), errors


def test_every_service_runs_a_pinned_image_or_the_project_build(services):
    assert {*DATABASES, "redis", "memcached", "s3", "nginx", *APP_SERVICES} <= set(services)
    assert set(PGBOUNCERS.values()) <= set(services)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if "image" in service:
            repository, _, tag = service["image"].rpartition(":")
            assert repository and tag and tag != "latest", f"{name}: pin {service['image']}"
    for name in APP_SERVICES:
        assert services[name]["build"] in [".", {"context": "."}], name
    assert services["redis"]["image"] == "redis:7"
    assert services["memcached"]["image"] == "memcached:1.6"
    assert services["s3"]["image"].startswith("motoserver/moto:")


def test_postgres_servers_have_health_checks_and_their_own_volumes(services):
    mounts = set()
    for name in sorted(DATABASES):
        service = services[name]
        assert service["image"] == "postgres:15", name
        test = service["healthcheck"]["test"]
        assert test[0] in {"CMD", "CMD-SHELL"} and "pg_isready" in " ".join(test[1:]), name
        env = service["environment"]
        assert env["POSTGRES_USER"] == "photoshare", name
        assert env["POSTGRES_DB"] == (
            "photoshare_directory" if name == "directory" else "photoshare_shards"
        )
        (volume,) = [v for v in service["volumes"] if v.endswith(":/var/lib/postgresql/data")]
        mounts.add(volume.split(":", 1)[0])
    assert len(mounts) == len(DATABASES), "each server needs its own data volume"


def test_dependencies_resolve_to_services_with_the_needed_state(services):
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: give depends_on conditions"
        for dep, spec in depends_on.items():
            assert dep in services and dep != name, f"{name} depends on unknown service {dep}"
            condition = spec["condition"]
            assert condition in CONDITIONS, (name, dep, condition)
            if condition == "service_healthy":
                check = services[dep].get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), f"{dep}: no healthcheck"
            if condition == "service_completed_successfully":
                assert str(services[dep].get("restart", "no")) == "no", f"{dep} must exit"

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        for dep in services[name].get("depends_on") or {}:
            visit(dep, (*path, name))

    for name in services:
        visit(name, ())


def test_app_processes_wait_for_healthy_data_and_the_migration(services):
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        for db in DATABASES:
            assert depends_on[db]["condition"] == "service_healthy", (name, db)
    for name in (*INSTANCES, "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


def test_volumes_are_declared_and_used(compose, services):
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume["source"] if isinstance(volume, dict) else volume.split(":", 1)[0]
            if source.startswith((".", "/", "~")):
                continue
            assert source in declared, f"{name} mounts undeclared volume {source}"
            used.add(source)
    assert declared == used, f"declared but unused: {declared - used}"


def test_only_the_app_and_photo_ports_are_published_on_loopback(services):
    published = {name: s["ports"] for name, s in services.items() if "ports" in s}
    assert published == {"nginx": ["127.0.0.1:8080:8080"], "s3": ["127.0.0.1:9100:5000"]}


def test_nginx_spreads_over_both_app_instances_and_pgbouncer_fronts_each_server(services):
    conf = (ROOT / "deploy/compose/nginx.conf").read_text()
    for name in INSTANCES:
        assert f"server {name}:8000 max_fails=1" in conf, name
    assert set(services["nginx"]["depends_on"]) == set(INSTANCES)
    for server, bouncer in PGBOUNCERS.items():
        ini = next(v for v in services[bouncer]["volumes"] if v.endswith("pgbouncer.ini:ro"))
        text = (ROOT / ini.split(":")[0]).read_text()
        assert f"host={server} port=5432" in text and "pool_mode = transaction" in text
        assert services[bouncer]["depends_on"][server]["condition"] == "service_healthy"


def test_app_worker_and_migrate_share_the_documented_variables(compose, services):
    shared = services["app1"]["environment"]
    assert shared == compose["x-app-env"], "use the x-app-env anchor"
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env == shared, f"{name} has its own environment"
        assert isinstance(env, dict), name
        assert set(env) <= set(VARIABLES), f"not in env.py: {set(env) - set(VARIABLES)}"
        assert set(env) >= REQUIRED_ENV, f"missing: {REQUIRED_ENV - set(env)}"
        wrong = {k: v for k, v in env.items() if not isinstance(v, str)}
        assert not wrong, f"quote these (YAML would not give a string): {wrong}"


def test_environment_works_without_a_dot_env_file(app_env):
    # interpolate() raises for a ${VAR} with no default; app_env already did it.
    assert app_env["DJANGO_SETTINGS_MODULE"] == "backend.settings.production"
    assert importlib.util.find_spec(app_env["DJANGO_SETTINGS_MODULE"]) is not None
    assert app_env["SECRET_KEY"] not in {"", VARIABLES["SECRET_KEY"].default}
    assert 1 <= int(app_env["LOGICAL_SHARDS"]) <= 8192
    assert app_env["S3_BUCKET"]
    assert {"127.0.0.1", "localhost"} <= set(app_env["ALLOWED_HOSTS"].split(","))


def test_database_urls_point_at_pgbouncer_and_the_direct_ones_at_postgres(services, app_env):
    """The app's URLs name each server's PgBouncer; the DIRECT ones (migrations,
    moves, LISTEN) name the PostgreSQL service behind it, server for server."""
    pooled = {"directory": app_env["DIRECTORY_DATABASE_URL"]}
    pooled |= shard_servers(app_env["SHARD_DATABASE_URLS"])
    direct = {"directory": app_env["DIRECTORY_DIRECT_DATABASE_URL"]}
    direct |= shard_servers(app_env["SHARD_DIRECT_DATABASE_URLS"])
    assert len(pooled) >= 3 and set(pooled) == set(direct)
    hosts = []
    for name in pooled:
        via, to = (
            database_settings(pooled[name]),
            database_settings(direct[name]),
        )
        host = str(to["HOST"])
        assert host in DATABASES, f"{direct[name]} names no postgres service"
        assert via["HOST"] == PGBOUNCERS[host], f"{pooled[name]} is not {host}'s PgBouncer"
        assert (via["PORT"], to["PORT"]) == ("6432", "5432"), name
        pg_env = services[host]["environment"]
        assert via["NAME"] == to["NAME"] == pg_env["POSTGRES_DB"], name
        assert via["USER"] == to["USER"] == pg_env["POSTGRES_USER"], name
        hosts.append(host)
    assert hosts[0] == "directory"
    assert len(set(hosts)) == len(hosts), f"one server named twice: {hosts}"


def test_redis_memcached_and_s3_urls_point_at_their_services(services, app_env):
    redis = urlsplit(app_env["REDIS_URL"])
    assert (redis.scheme, redis.hostname, redis.port) == ("redis", "redis", 6379)
    assert services["redis"]["image"].startswith("redis:")
    for location in app_env["MEMCACHED_LOCATION"].split(","):
        host, _, port = location.partition(":")
        assert host in services and services[host]["image"].startswith("memcached:"), location
        assert port in {"", "11211"}, location
    s3 = urlsplit(app_env["S3_ENDPOINT_URL"])
    assert (s3.scheme, s3.hostname, s3.port) == ("http", "s3", 5000)


def test_commands_run_the_app_the_worker_and_every_migration(services):
    app = command_text(services["app1"]["command"])
    assert app.startswith(GUNICORN + " -w "), app
    assert int(shlex.split(app)[shlex.split(app).index("-w") + 1]) >= 1
    for name in INSTANCES:
        assert command_text(services[name]["command"]) == app, f"{name} runs another command"
        assert "ports" not in services[name], f"{name}: only nginx is published"
    assert "listen 8080" in (ROOT / "deploy/compose/nginx.conf").read_text()
    worker = shlex.split(command_text(services["worker"]["command"]))
    assert worker[:2] == ["dramatiq", "backend.worker"], worker
    assert int(worker[worker.index("--processes") + 1]) >= 1
    assert int(worker[worker.index("--threads") + 1]) >= 1
    assert command_text(services["migrate"]["command"]) == MIGRATE
    for module in ("backend.asgi", "backend.worker"):
        assert importlib.util.find_spec(module) is not None, module
    for command in ("migrate_shards", "ensure_bucket"):
        found = list(ROOT.glob(f"backend/*/management/commands/{command}.py"))
        assert found, f"no management command {command}"


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_builds_a_non_root_image_running_gunicorn():
    steps = _dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = " && ".join(args for op, args in steps if op == "RUN")
    assert re.search(r"pip install (--\S+ )*\.(\s|$)", runs), "pip install . missing"
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1] not in {"root", "0"}, "the image must not run as root"
    last_user = max(i for i, (op, _) in enumerate(steps) if op == "USER")
    assert all(op != "RUN" for op, _ in steps[last_user:]), "RUN after USER"
    assert ("EXPOSE", "8000") in steps
    (cmd,) = [json.loads(args) for op, args in steps if op == "CMD"]
    assert " ".join(cmd).startswith(GUNICORN + " -w "), cmd


def test_dockerfile_copies_what_the_build_needs_and_the_context_keeps_it():
    copied = []
    for op, args in _dockerfile():
        if op in {"COPY", "ADD"}:
            parts = [p for p in args.split() if not p.startswith("--")]
            copied += parts[:-1]
    # pyproject.toml names README.md; manage.py runs the migrations.
    assert {"pyproject.toml", "README.md", "backend", "manage.py"} <= set(copied)
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for path in copied:
        assert (ROOT / path).exists(), f"COPY {path}: no such file"
        assert not any(fnmatch(path, pattern) for pattern in ignored), f"{path} is ignored"
    assert {".git", ".venv", ".local"} <= set(ignored), "keep the context small"


def test_the_readme_documents_every_variable():
    rows = [
        line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `")
    ]
    # A row may name a pair: | `APNS_HOST` / `APNS_PORT` | ... |
    names = {part.strip(" `") for row in rows for part in row.split("|")[1].split("/")}
    missing = sorted(set(VARIABLES) - names)
    assert not missing, f"add these to the README's configuration table: {missing}"
