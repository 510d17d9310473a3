"""Reading configuration from the environment (12-factor).

Every variable the product reads is declared here with its default, so the
README table and compose.yaml can be checked against one list.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from psycopg.conninfo import conninfo_to_dict


@dataclass(frozen=True)
class Var:
    name: str
    default: str
    help: str


VARIABLES: dict[str, Var] = {
    v.name: v
    for v in [
        Var("DJANGO_SETTINGS_MODULE", "backend.settings.local", "settings module"),
        Var("SECRET_KEY", "dev-only-insecure-key", "Django secret key (required in production)"),
        Var("DEBUG", "false", "Django debug mode"),
        Var("ALLOWED_HOSTS", "127.0.0.1,localhost", "comma-separated host names"),
        Var(
            "DIRECTORY_DATABASE_URL",
            "postgresql://photoshare@127.0.0.1:6440/photoshare_directory",
            "directory database (accounts, tokens, shard map), through its PgBouncer",
        ),
        Var(
            "SHARD_DATABASE_URLS",
            "shard1=postgresql://photoshare@127.0.0.1:6441/photoshare_shards,"
            "shard2=postgresql://photoshare@127.0.0.1:6442/photoshare_shards",
            "physical shard servers as name=url, comma-separated, through their PgBouncers "
            "(transaction pooling): the request path and workers connect only here",
        ),
        Var(
            "DIRECTORY_DIRECT_DATABASE_URL",
            "postgresql://photoshare@127.0.0.1:5440/photoshare_directory",
            "the directory's PostgreSQL itself, for migrations and LISTEN (default: "
            "DIRECTORY_DATABASE_URL); name its primary and standby, "
            "`host1:port1,host2:port2/db?target_session_attrs=read-write`, so it follows a "
            "failover",
        ),
        Var(
            "SHARD_DIRECT_DATABASE_URLS",
            "shard1=postgresql://photoshare@127.0.0.1:5441/photoshare_shards,"
            "shard2=postgresql://photoshare@127.0.0.1:5442/photoshare_shards",
            "each shard server's PostgreSQL itself, same names as SHARD_DATABASE_URLS, for "
            "what needs a session: migrations (SET search_path), shard moves, LISTEN "
            "(`db.direct_conninfo(server)`); default: SHARD_DATABASE_URLS. Read once into the "
            "directory's endpoint registry by `migrate_shards`; after that the registry counts "
            "(a failover rewrites it; docs/decisions/0064-failover.md)",
        ),
        Var(
            "SHARD_STANDBY_DATABASE_URLS",
            "",
            "each shard server's hot standby (its PostgreSQL itself), same names as "
            "SHARD_DATABASE_URLS: what `shards failover` promotes. Read once, into the "
            "directory's endpoint registry, which is what counts after a failover; empty: none",
        ),
        Var(
            "PGBOUNCER_CONFIG_DIR",
            "",
            "where this host's PgBouncers keep `pgbouncer-<server>-databases.ini`: "
            "`shards failover` rewrites the failed server's file and sends RELOAD; "
            "empty: PgBouncer is repointed by other means",
        ),
        Var(
            "DB_NESTED_POOL_SUFFIX",
            "_nested",
            "appended to a shard server's database name by the pool for nested transactions, "
            "so PgBouncer gives them a pool of their own; empty without PgBouncer",
        ),
        Var(
            "DB_REPLICA_POOL_SUFFIX",
            "_replica",
            "appended to a server's database name by the pool for reads that may be stale: "
            "PgBouncer routes `<db>_replica` to the server's hot standby; empty: the primary",
        ),
        Var(
            "REPLICA_READS",
            "",
            "kinds of reads that may use the hot standbys, comma-separated: profiles (other "
            "users' profiles), photo_lists (users' photo lists, photos by ID), comments; "
            "empty: none (docs/decisions/0068-replica-reads.md)",
        ),
        Var(
            "REPLICA_MAX_LAG_SECONDS",
            "1",
            "a standby further behind its primary than this serves no reads until it catches up",
        ),
        Var(
            "REPLICA_CHECK_SECONDS",
            "1",
            "how often each process checks each standby's lag and health (in the background)",
        ),
        Var(
            "REPLICA_AFTER_WRITE_SECONDS",
            "5",
            "a user who wrote (any mutation) reads only from the primaries for this long, so "
            "they see their own writes; more than REPLICA_MAX_LAG_SECONDS + "
            "2 x REPLICA_CHECK_SECONDS",
        ),
        Var("LOGICAL_SHARDS", "512", "number of logical shards (schemas), at most 8192"),
        Var("DB_POOL_MAX", "10", "max connections per pool per process"),
        Var("REDIS_URL", "redis://127.0.0.1:6390/0", "Redis for feeds, photo map, rate limits"),
        Var("DRAMATIQ_BROKER_URL", "", "Redis URL of the task broker (default: REDIS_URL)"),
        Var("MEMCACHED_LOCATION", "127.0.0.1:11220", "Memcached host:port, comma-separated"),
        Var("S3_ENDPOINT_URL", "http://127.0.0.1:9100", "S3 endpoint (empty for AWS S3)"),
        Var("S3_BUCKET", "photos", "bucket holding photo objects"),
        Var("AWS_ACCESS_KEY_ID", "local", "S3 access key"),
        Var("AWS_SECRET_ACCESS_KEY", "local-secret", "S3 secret key"),
        Var("AWS_REGION", "us-east-1", "S3 region"),
        Var(
            "S3_PUBLIC_ENDPOINT_URL",
            "",
            "S3 endpoint as browsers reach it, for presigned URLs (default: S3_ENDPOINT_URL)",
        ),
        Var(
            "S3_OBJECT_ACL",
            "public-read",
            "canned ACL of public accounts' photo objects (private accounts' are always "
            "private); empty: set no ACLs (a bucket with ACLs disabled behind a CDN)",
        ),
        Var(
            "PRIVATE_PHOTO_URL_TTL",
            "3600",
            "seconds a private account's photo URL (presigned) stays valid",
        ),
        Var("PHOTO_MAX_BYTES", str(25 * 1024 * 1024), "largest accepted upload, in bytes"),
        Var("PHOTO_MAX_PIXELS", "60000000", "largest accepted image, in pixels (width x height)"),
        Var(
            "PHOTO_MAX_DECODE_BYTES",
            str(180 * 2**20),
            "most memory an image's decoded pixels may need (width x height x channels x "
            "bytes per channel), checked before decoding: 60 MP of 8-bit RGB",
        ),
        Var("GRAPHQL_MAX_FILES", "1", "files in one multipart request"),
        Var(
            "CDN_BASE_URL",
            "",
            "base URL photo URLs start with (a CDN in front of the bucket); "
            "default: S3_ENDPOINT_URL/S3_BUCKET, or the bucket's AWS URL",
        ),
        Var("FEED_MAX_ITEMS", "800", "photos kept in each home feed (Redis)"),
        Var(
            "FEED_PULL_THRESHOLD",
            "10000",
            "followers above which an account's posts are pulled at read time, not fanned out",
        ),
        Var("FANOUT_CHUNK", "2000", "followers per fan-out delivery job"),
        Var(
            "APP_PORT",
            "8000",
            "port of the first app instance (gunicorn, 127.0.0.1); instance N listens on "
            "APP_PORT + N - 1",
        ),
        Var("APP_INSTANCES", "2", "app instances (gunicorn masters) behind nginx"),
        Var("NGINX_PORT", "8080", "port of nginx, the public entry point (127.0.0.1)"),
        Var(
            "PGBOUNCER_POOL_SIZE",
            "20",
            "server connections each PgBouncer opens to its PostgreSQL for the app's pools",
        ),
        Var(
            "PGBOUNCER_NESTED_POOL_SIZE",
            "5",
            "server connections each PgBouncer opens for nested transactions",
        ),
        Var("WEB_CONCURRENCY", "2", "gunicorn worker processes per app instance"),
        Var("DRAMATIQ_PROCESSES", "1", "Dramatiq worker processes"),
        Var("DRAMATIQ_THREADS", "4", "threads per Dramatiq worker process"),
        Var(
            "dramatiq_worker_timeout",
            "100",
            "ms an idle Dramatiq worker waits between queue polls (read by Dramatiq; its own "
            "default is 1000): a fan-out starts within 0.1 s of the upload",
        ),
        Var("SENTRY_DSN", "", "Sentry DSN; errors are reported when set"),
        Var("SENTRY_ENVIRONMENT", "local", "Sentry environment tag"),
        Var("SENTRY_SAMPLE_RATE", "1.0", "share of errors sent to Sentry (0 to 1)"),
        Var(
            "SENTRY_TRACES_SAMPLE_RATE",
            "0",
            "share of requests traced to Sentry's performance view (0: none, no overhead)",
        ),
        Var("LOG_LEVEL", "INFO", "root log level"),
        Var(
            "PROMETHEUS_MULTIPROC_DIR",
            "",
            "directory where each process of an instance writes its metrics, summed by "
            "/metrics (set per gunicorn instance and per worker host by scripts/stack.sh); "
            "empty: per process",
        ),
        Var(
            "METRICS_ENABLED",
            "true",
            "false: no metrics are counted (only to measure their cost)",
        ),
        Var(
            "dramatiq_prom_port",
            "",
            "port of the workers' metrics (Dramatiq's exposition server); empty: none",
        ),
        Var("dramatiq_prom_host", "0.0.0.0", "address of the workers' metrics server"),  # noqa: S104
        Var(
            "dramatiq_prom_db",
            "",
            "the workers' metrics directory (Dramatiq's; the same as PROMETHEUS_MULTIPROC_DIR)",
        ),
        Var("APNS_KEY_PATH", "", "APNs auth key (.p8) file; push notifications are off when empty"),
        Var("APNS_KEY_ID", "", "key ID of the .p8 key (10 characters, from Apple)"),
        Var("APNS_TEAM_ID", "", "Apple developer team ID (the JWT issuer)"),
        Var("APNS_TOPIC", "", "the iOS app's bundle ID"),
        Var("APNS_USE_SANDBOX", "false", "true: Apple's development APNs (Xcode builds)"),
        Var("APNS_HOST", "", "APNs host override (a local stand-in); default: Apple's"),
        Var("APNS_PORT", "443", "APNs port (with APNS_HOST)"),
        Var("APNS_CA_FILE", "", "extra CA certificate to trust for APNS_HOST (PEM)"),
        Var(
            "OUTBOX_POLL_SECONDS",
            "5",
            "the outbox relay looks for events this often even when no NOTIFY woke it",
        ),
        Var(
            "WORKER_LOOP_STUCK_SECONDS",
            "60",
            "a worker whose event loop has not answered for this long exits and is "
            "started again (backend/watchdog.py); 0: no watchdog",
        ),
        Var("PUSH_DELAY_MS", "2000", "pushes wait this long, so an undone like is never sent"),
        Var("PUSH_DEDUP_SECONDS", "300", "one push per (recipient, photo, kind) per this window"),
        Var(
            "TOKEN_TTL",
            str(30 * 24 * 3600),
            "seconds a bearer token (session) lives unused; each use slides the window",
        ),
        Var("GRAPHQL_MAX_COST", "2000", "largest query cost accepted (backend/graph/limits.py)"),
        Var("GRAPHQL_MAX_TOKENS", "2000", "largest GraphQL document accepted, in tokens"),
        Var("GRAPHQL_MAX_FIELDS", "250", "most fields in one document (fragments counted)"),
        Var("GRAPHQL_MAX_ALIASES", "30", "most aliases in one document"),
        Var("RATE_LIMIT_COST", "60000/60", "query cost points per signed-in account: N/SECONDS"),
        Var("RATE_LIMIT_COST_ANONYMOUS", "20000/60", "query cost points per client IP, anonymous"),
        Var("RATE_LIMIT_WRITES", "120/60", "mutations per account: N/SECONDS"),
        Var("RATE_LIMIT_LOGIN_USERNAME", "5/100", "failed logIn attempts per username: N/SECONDS"),
        Var("RATE_LIMIT_LOGIN_IP", "30/60", "logIn attempts per client IP: N/SECONDS"),
        Var("RATE_LIMIT_SIGNUP_IP", "5/300", "signUp per client IP: N/SECONDS"),
        Var("RATE_LIMIT_UPLOADS", "30/300", "uploadPhoto per account: N/SECONDS"),
        Var(
            "GRAPHQL_TRUSTED_DOCUMENTS_ONLY",
            "false",
            "true: run only the clients' documents (backend/graph/trusted_documents.json)",
        ),
        Var(
            "CORS_ALLOWED_ORIGINS",
            "http://127.0.0.1:5173,http://localhost:5173",
            "comma-separated origins whose browser apps may call the API (CORS); the defaults "
            "are the web client's Vite dev server",
        ),
        Var("SECURE_SSL_REDIRECT", "true", "production: Django's own pages redirect to HTTPS"),
        Var("SECURE_HSTS_SECONDS", "31536000", "production: Strict-Transport-Security max-age"),
        Var(
            "TRUSTED_PROXIES",
            "",
            "comma-separated IPs/CIDRs of proxies whose X-Forwarded-For names the client "
            "(`make up`: 127.0.0.1/32, its nginx)",
        ),
    ]
}


def env(name: str) -> str:
    """The variable's value, or its declared default."""
    return os.environ.get(name, VARIABLES[name].default)


def env_bool(name: str) -> bool:
    return env(name).strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str) -> int:
    return int(env(name))


def env_list(name: str) -> list[str]:
    return [part.strip() for part in env(name).split(",") if part.strip()]


def database_settings(url: str) -> dict[str, object]:
    """Django DATABASES entry for a postgresql:// URL, without a pool of its
    own (Django's connections serve migrations; the runtime's pools serve the
    app, backend/runtime.py). libpq's own parser
    reads it, so it may name several hosts (`host1:port1,host2:port2`) with
    `?target_session_attrs=read-write`: libpq connects to whichever of them
    takes writes (the directory's primary and standby, either of which may be
    the primary after a failover)."""
    if urlsplit(url).scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    parts = conninfo_to_dict(url)
    options: dict[str, object] = {}
    if parts.get("target_session_attrs"):
        options["target_session_attrs"] = parts["target_session_attrs"]
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": str(parts.get("dbname", "")),
        "USER": str(parts.get("user", "")),
        "PASSWORD": str(parts.get("password", "")),
        "HOST": str(parts.get("host") or "127.0.0.1"),
        "PORT": str(parts.get("port") or 5432),
        "CONN_MAX_AGE": 0,
        "OPTIONS": options,
    }


def shard_servers(value: str, *, required: bool = True) -> dict[str, str]:
    """Parse `name=url,name=url` into an ordered mapping."""
    servers: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        name, sep, url = item.strip().partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"SHARD_DATABASE_URLS entry must be name=url, got {item!r}")
        if name == "default":
            raise ValueError("SHARD_DATABASE_URLS: 'default' is the directory's name")
        servers[name] = url
    if not servers and required:
        raise ValueError("SHARD_DATABASE_URLS names no server")
    return servers
