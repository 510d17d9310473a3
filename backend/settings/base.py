"""Settings shared by every environment; values come from the environment."""

from __future__ import annotations

from pathlib import Path

from backend.settings.env import (
    database_settings,
    env,
    env_bool,
    env_int,
    env_list,
    shard_servers,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env("SECRET_KEY")
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "backend.shards",
    "backend.accounts",
    "backend.photos",
    "backend.social",
    "backend.feeds",
    "backend.notifications",
    "backend.graph",
]

# Django's handler only serves what backend/asgi.py does not route itself.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DB_POOL_MAX = env_int("DB_POOL_MAX")

# Physical shard servers: name -> URL, through PgBouncer (transaction pooling).
# Each also gets a Django alias of the same name, used by the per-shard
# migration runner.
SHARD_SERVERS = shard_servers(env("SHARD_DATABASE_URLS"))
LOGICAL_SHARDS = env_int("LOGICAL_SHARDS")
# The same servers without PgBouncer, for what needs a session of its own:
# migrations (SET search_path per schema), shard moves (a long transaction
# with LOCK and COPY), LISTEN (docs/decisions/0021-pgbouncer.md).
SHARD_DIRECT_SERVERS = shard_servers(
    env("SHARD_DIRECT_DATABASE_URLS") or env("SHARD_DATABASE_URLS")
)
if set(SHARD_DIRECT_SERVERS) != set(SHARD_SERVERS):
    raise ValueError("SHARD_DIRECT_DATABASE_URLS must name the servers of SHARD_DATABASE_URLS")
# Each server's hot standby, and the PgBouncer files a failover rewrites
# (docs/decisions/0064-failover.md).
SHARD_STANDBY_SERVERS = shard_servers(env("SHARD_STANDBY_DATABASE_URLS"), required=False)
if not set(SHARD_STANDBY_SERVERS) <= set(SHARD_SERVERS):
    raise ValueError("SHARD_STANDBY_DATABASE_URLS names a server not in SHARD_DATABASE_URLS")
PGBOUNCER_CONFIG_DIR = env("PGBOUNCER_CONFIG_DIR")
DB_NESTED_POOL_SUFFIX = env("DB_NESTED_POOL_SUFFIX")

# Reads that may be stale, on the hot standbys (backend/shards/replicas.py,
# docs/decisions/0068-replica-reads.md).
DB_REPLICA_POOL_SUFFIX = env("DB_REPLICA_POOL_SUFFIX")
REPLICA_READ_KINDS = ("profiles", "photo_lists", "comments")
REPLICA_READS = frozenset(env_list("REPLICA_READS"))
if REPLICA_READS - set(REPLICA_READ_KINDS):
    raise ValueError(
        f"REPLICA_READS: unknown kinds {sorted(REPLICA_READS - set(REPLICA_READ_KINDS))}; "
        f"known: {', '.join(REPLICA_READ_KINDS)}"
    )
REPLICA_MAX_LAG_SECONDS = float(env("REPLICA_MAX_LAG_SECONDS"))
REPLICA_CHECK_SECONDS = float(env("REPLICA_CHECK_SECONDS"))
REPLICA_AFTER_WRITE_SECONDS = float(env("REPLICA_AFTER_WRITE_SECONDS"))
if REPLICA_AFTER_WRITE_SECONDS <= REPLICA_MAX_LAG_SECONDS + 2 * REPLICA_CHECK_SECONDS:
    # A writer's own reads leave the primary only once every replica still
    # in use has applied the write: a replica is used while a check that
    # started at most 2 check intervals ago found it at most the lag behind.
    raise ValueError(
        "REPLICA_AFTER_WRITE_SECONDS must exceed "
        "REPLICA_MAX_LAG_SECONDS + 2 * REPLICA_CHECK_SECONDS"
    )

# The request path, workers and commands reach every server through the
# runtime's async pools (backend/runtime.py), which go through PgBouncer;
# Django's connections serve only migrations (and the shard migrator), so
# they connect directly and get no pool of their own.
DIRECTORY_DATABASE_URL = env("DIRECTORY_DATABASE_URL")
DIRECTORY_DIRECT_DATABASE_URL = env("DIRECTORY_DIRECT_DATABASE_URL") or DIRECTORY_DATABASE_URL
DATABASES = {"default": database_settings(DIRECTORY_DIRECT_DATABASE_URL)}
for _name, _url in SHARD_DIRECT_SERVERS.items():
    DATABASES[_name] = database_settings(_url)

DATABASE_ROUTERS = ["backend.shards.router.ShardRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL")
FEED_MAX_ITEMS = env_int("FEED_MAX_ITEMS")
FEED_PULL_THRESHOLD = env_int("FEED_PULL_THRESHOLD")
FANOUT_CHUNK = env_int("FANOUT_CHUNK")
DRAMATIQ_BROKER_URL = env("DRAMATIQ_BROKER_URL") or REDIS_URL

MEMCACHED_LOCATION = env_list("MEMCACHED_LOCATION")
# Memcached is reached through backend/memcache.py (aiomcache, the runtime's);
# Django's cache framework is not used.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

S3_ENDPOINT_URL = env("S3_ENDPOINT_URL") or None
S3_BUCKET = env("S3_BUCKET")
AWS_REGION = env("AWS_REGION")
PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES")
PHOTO_MAX_PIXELS = env_int("PHOTO_MAX_PIXELS")
PHOTO_MAX_DECODE_BYTES = env_int("PHOTO_MAX_DECODE_BYTES")
GRAPHQL_MAX_FILES = env_int("GRAPHQL_MAX_FILES")
CDN_BASE_URL = (
    env("CDN_BASE_URL")
    or (f"{S3_ENDPOINT_URL}/{S3_BUCKET}" if S3_ENDPOINT_URL else "")
    or f"https://{S3_BUCKET}.s3.{AWS_REGION}.amazonaws.com"
).rstrip("/")
# Photo objects of public accounts get S3_OBJECT_ACL (public-read: the stable
# CDN URL works for anyone); those of private accounts are private and served
# through presigned URLs (docs/decisions/0012-private-photos.md). An empty
# S3_OBJECT_ACL sets no ACL at all (a bucket with ACLs disabled, behind a CDN).
S3_OBJECT_ACL = env("S3_OBJECT_ACL") or None
S3_PUBLIC_ENDPOINT_URL = env("S3_PUBLIC_ENDPOINT_URL") or S3_ENDPOINT_URL
PRIVATE_PHOTO_URL_TTL = env_int("PRIVATE_PHOTO_URL_TTL")
_PHOTO_STORAGE_OPTIONS = {
    "bucket_name": S3_BUCKET,
    "endpoint_url": S3_ENDPOINT_URL,
    "access_key": env("AWS_ACCESS_KEY_ID"),
    "secret_key": env("AWS_SECRET_ACCESS_KEY"),
    "region_name": AWS_REGION,
    "querystring_auth": False,
    # Object names carry a random key (backend/photos/storage.py), so
    # no existence check (an extra request) is needed before a write.
    "file_overwrite": True,
    # Objects never change once written: clients and the CDN may keep them.
    "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
}
STORAGES = {
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_PHOTO_STORAGE_OPTIONS, "default_acl": S3_OBJECT_ACL},
    },
    "private_photos": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_PHOTO_STORAGE_OPTIONS, "default_acl": "private" if S3_OBJECT_ACL else None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL")},
}

SENTRY_DSN = env("SENTRY_DSN")
if SENTRY_DSN:
    # Before anything builds the schema or the broker: the integrations hook them.
    from backend.sentry import init as init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT"),
        sample_rate=float(env("SENTRY_SAMPLE_RATE")),
        traces_sample_rate=float(env("SENTRY_TRACES_SAMPLE_RATE")),
    )

# Push notifications (backend/notifications). APNs is off unless a key is set.
APNS_KEY_PATH = env("APNS_KEY_PATH")
APNS_KEY_ID = env("APNS_KEY_ID")
APNS_TEAM_ID = env("APNS_TEAM_ID")
APNS_TOPIC = env("APNS_TOPIC")
APNS_USE_SANDBOX = env_bool("APNS_USE_SANDBOX")
APNS_HOST = env("APNS_HOST")
APNS_PORT = env_int("APNS_PORT")
APNS_CA_FILE = env("APNS_CA_FILE")
PUSH_DELAY_MS = env_int("PUSH_DELAY_MS")
OUTBOX_POLL_SECONDS = float(env("OUTBOX_POLL_SECONDS"))
WORKER_LOOP_STUCK_SECONDS = float(env("WORKER_LOOP_STUCK_SECONDS"))
PUSH_DEDUP_SECONDS = env_int("PUSH_DEDUP_SECONDS")

# Sessions: a bearer token unused for this many seconds is refused (sliding).
TOKEN_TTL = env_int("TOKEN_TTL")

# Limits of the public API (backend/graph/limits.py, backend/ratelimit.py).
GRAPHQL_MAX_DEPTH = 12
GRAPHQL_MAX_COST = env_int("GRAPHQL_MAX_COST")
GRAPHQL_MAX_TOKENS = env_int("GRAPHQL_MAX_TOKENS")
GRAPHQL_MAX_FIELDS = env_int("GRAPHQL_MAX_FIELDS")
GRAPHQL_MAX_ALIASES = env_int("GRAPHQL_MAX_ALIASES")
RATE_LIMIT_NAMES = [
    "cost",
    "cost_anonymous",
    "writes",
    "login_username",
    "login_ip",
    "signup_ip",
    "uploads",
]
RATE_LIMITS = {name: env(f"RATE_LIMIT_{name.upper()}") for name in RATE_LIMIT_NAMES}
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
GRAPHQL_TRUSTED_DOCUMENTS_ONLY = env_bool("GRAPHQL_TRUSTED_DOCUMENTS_ONLY")

# A developer's conveniences, on locally and off in production (production.py).
GRAPHIQL = True
GRAPHQL_INTROSPECTION = True
GRAPHQL_FIELD_SUGGESTIONS = True
# Strict-Transport-Security on every answer when set (production.py).
SECURE_HSTS_SECONDS = 0
PASSWORD_MIN_LENGTH = 8
