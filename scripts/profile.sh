# Environment of a local stack profile. Sourced by the stack scripts.
# `dev` is what `make up` runs (the settings' defaults match it); `test` is a
# second, throw-away stack on other ports that `make test` starts and stops,
# so the suite never touches a running dev stack.
# shellcheck shell=bash

load_profile() {
    local profile=$1 off
    case "$profile" in
        dev) off=0 ;;
        test) off=100 ;;
        bench) off=200 ;;
        # Spare throw-away stacks, so two people (or agents) can run the suite
        # side by side on one machine: TEST_PROFILE=test2 make test.
        test2) off=300 ;;
        test3) off=400 ;;
        test4) off=500 ;;
        *) die "unknown profile '$profile' (dev, test, bench, test2, test3 or test4)" ;;
    esac
    export STACK_PROFILE="$profile"
    export STACK_DIR="$ROOT/.local/$profile"
    export PG_DIRECTORY_PORT=$((5440 + off))
    export PG_SHARD_PORTS="$((5441 + off)) $((5442 + off))"
    # Each PostgreSQL server's synchronous hot standby (scripts/stack.sh).
    export PG_DIRECTORY_STANDBY_PORT=$((5450 + off))
    export PG_SHARD_STANDBY_PORTS="$((5451 + off)) $((5452 + off))"
    export REDIS_PORT=$((6390 + off))
    # Redis's replica (scripts/stack.sh; docs/decisions/0065-redis-replica-and-aof.md).
    export REDIS_REPLICA_PORT=$((6391 + off))
    export MEMCACHED_PORT=$((11220 + off))
    export S3_PORT=$((9100 + off))
    # PgBouncer in front of each PostgreSQL server, on the server's port + 1000.
    export PGBOUNCER_DIRECTORY_PORT=$((6440 + off))
    export PGBOUNCER_SHARD_PORTS="$((6441 + off)) $((6442 + off))"
    # Server connections each PgBouncer opens to its PostgreSQL server: the
    # app's main pool, plus its pool for nested transactions (0021-pgbouncer.md).
    export PGBOUNCER_POOL_SIZE=${PGBOUNCER_POOL_SIZE:-20}
    export PGBOUNCER_NESTED_POOL_SIZE=${PGBOUNCER_NESTED_POOL_SIZE:-5}
    # nginx, the one public entry point, over APP_INSTANCES gunicorn masters on
    # APP_PORT, APP_PORT+1, ...
    export NGINX_PORT=$((8080 + off))
    export APP_PORT=${APP_PORT:-$((8000 + off))}
    export APP_INSTANCES=${APP_INSTANCES:-2}
    export PUBLIC_URL="http://127.0.0.1:$NGINX_PORT"
    # nginx believes X-Forwarded-For only from itself (loopback).
    export TRUSTED_PROXIES=${TRUSTED_PROXIES:-127.0.0.1/32}
    load_monitoring_profile "$profile" "$off"

    # The app (request path, workers, commands' runtime) reaches PostgreSQL only
    # through PgBouncer; migrations, shard moves and LISTEN use the DIRECT URLs.
    local pg="postgresql://photoshare@127.0.0.1"
    export DIRECTORY_DATABASE_URL="$pg:$PGBOUNCER_DIRECTORY_PORT/photoshare_directory"
    export DIRECTORY_DIRECT_DATABASE_URL="$pg:$PG_DIRECTORY_PORT/photoshare_directory"
    if [ "${PG_STANDBYS:-on}" = on ]; then
        # Both instances: libpq takes whichever accepts writes, so the
        # directory's direct connections follow a failover by themselves
        # (docs/decisions/0071-directory-failover.md).
        DIRECTORY_DIRECT_DATABASE_URL="$pg:$PG_DIRECTORY_PORT,127.0.0.1:$PG_DIRECTORY_STANDBY_PORT"
        DIRECTORY_DIRECT_DATABASE_URL+="/photoshare_directory?target_session_attrs=read-write"
    fi
    local urls="" direct="" standby="" i=1 p bp sp
    for p in $PG_SHARD_PORTS; do
        bp=$(echo "$PGBOUNCER_SHARD_PORTS" | cut -d' ' -f"$i")
        sp=$(echo "$PG_SHARD_STANDBY_PORTS" | cut -d' ' -f"$i")
        urls="${urls:+$urls,}shard$i=$pg:$bp/photoshare_shards"
        direct="${direct:+$direct,}shard$i=$pg:$p/photoshare_shards"
        standby="${standby:+$standby,}shard$i=$pg:$sp/photoshare_shards"
        i=$((i + 1))
    done
    export SHARD_DATABASE_URLS="$urls"
    # The primaries and standbys as first set up; after a failover the
    # directory's endpoint registry says which is which (0064-failover.md).
    export SHARD_DIRECT_DATABASE_URLS="$direct"
    if [ "${PG_STANDBYS:-on}" = on ]; then export SHARD_STANDBY_DATABASE_URLS="$standby"; fi
    # Where stack.sh writes each PgBouncer's databases file (failover rewrites it).
    export PGBOUNCER_CONFIG_DIR="$STACK_DIR/pg"
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    export MEMCACHED_LOCATION="127.0.0.1:$MEMCACHED_PORT"
    export S3_ENDPOINT_URL="http://127.0.0.1:$S3_PORT"
    export S3_BUCKET=${S3_BUCKET:-photos}
    export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local}
    export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local-secret}
    export AWS_REGION=${AWS_REGION:-us-east-1}
    if [ "$profile" != dev ]; then
        # Pushes go to a local APNs stand-in (tests/apns_standin.py, started by
        # stack.sh) with a test key made on first start; `dev` has no APNs.
        export APNS_DIR="$STACK_DIR/apns"
        export APNS_KEY_PATH="$APNS_DIR/key.p8"
        export APNS_KEY_ID=TESTKEY001
        export APNS_TEAM_ID=TESTTEAM01
        export APNS_TOPIC=com.example.photoshare
        export APNS_USE_SANDBOX=true
        export APNS_HOST=127.0.0.1
        export APNS_PORT=$((7400 + off))
        export APNS_CA_FILE="$APNS_DIR/ca.pem"
        export APNS_STANDIN_CONTROL_PORT=$((7450 + off))
    fi
    if [ "$profile" != dev ]; then
        export DJANGO_SETTINGS_MODULE=backend.settings.test
        export LOGICAL_SHARDS=${LOGICAL_SHARDS:-512}
        # Longer than the suite's wait for a NOTIFY-woken relay
        # (tests/test_outbox.py), so a lost NOTIFY cannot pass for one.
        export OUTBOX_POLL_SECONDS=${OUTBOX_POLL_SECONDS:-15}
        # Tests make a "huge" (pulled, not fanned out) account with a few
        # dozen followers; the fan-out benchmark's 1M-follower account must
        # be fanned out.
        if [ "$profile" = bench ]; then
            export FEED_PULL_THRESHOLD=${FEED_PULL_THRESHOLD:-100000000}
        else
            export FEED_PULL_THRESHOLD=${FEED_PULL_THRESHOLD:-25}
            # Two instances of one worker each: the test stacks' app tier uses
            # as many processes as the single gunicorn of two workers did.
            export WEB_CONCURRENCY=${WEB_CONCURRENCY:-1}
        fi
        # Tests and benchmarks sign up and write from one address far faster
        # than a person: the limits are raised here, and the rate-limit tests
        # set their own low ones.
        local n var
        for n in COST COST_ANONYMOUS WRITES LOGIN_USERNAME LOGIN_IP SIGNUP_IP UPLOADS; do
            var="RATE_LIMIT_$n"
            export "$var=${!var:-100000000/60}"
        done
    else
        export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-backend.settings.local}
        export LOGICAL_SHARDS=${LOGICAL_SHARDS:-512}
    fi
}

# Monitoring's ports (scripts/monitoring.sh): 9070-9093 + the offset, clear of
# S3's 9100 + offset. Throw-away stacks scrape and evaluate every 2 s and fire
# after ALERT_FOR, and report errors to a Sentry stand-in.
load_monitoring_profile() {
    local profile=$1 off=$2
    export PROMETHEUS_PORT=$((9090 + off))
    export ALERTMANAGER_PORT=$((9093 + off))
    export NODE_EXPORTER_PORT=$((9071 + off))
    export REDIS_EXPORTER_PORT=$((9072 + off))
    export MEMCACHED_EXPORTER_PORT=$((9073 + off))
    export BLACKBOX_PORT=$((9074 + off))
    export PAGER_PORT=$((9075 + off))
    export WORKER_METRICS_PORT=$((9077 + off))
    # One postgres_exporter per PostgreSQL instance: the directory's and each
    # shard server's first instance, then their standbys (either may be the
    # primary after a failover).
    export POSTGRES_EXPORTER_PORTS="$((9080 + off)) $((9081 + off)) $((9082 + off)) $((9083 + off)) $((9084 + off)) $((9085 + off))"
    if [ "$profile" = dev ]; then
        export SCRAPE_INTERVAL=15s EVALUATION_INTERVAL=15s
        export ALERT_GROUP_WAIT=30s ALERT_GROUP_INTERVAL=5m
    else
        export SCRAPE_INTERVAL=2s EVALUATION_INTERVAL=2s ALERT_FOR=${ALERT_FOR:-4s}
        export ALERT_GROUP_WAIT=1s ALERT_GROUP_INTERVAL=5s
    fi
    case "$profile" in
        test*)
            export SENTRY_STANDIN_PORT=$((9076 + off))
            export SENTRY_DSN=${SENTRY_DSN:-http://public@127.0.0.1:$SENTRY_STANDIN_PORT/1}
            export SENTRY_ENVIRONMENT=${SENTRY_ENVIRONMENT:-$profile}
            ;;
    esac
}
