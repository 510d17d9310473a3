#!/usr/bin/env bash
# Starts and stops the local stack: PostgreSQL (directory + physical shards),
# Redis, Memcached, an S3 server (moto behind scripts/s3_server.py), Dramatiq workers and gunicorn.
# Everything listens on 127.0.0.1, keeps its data, logs and pid files under
# .local/<profile>/, and is stopped by the pid we recorded, never by name.
#
#   scripts/stack.sh [--profile P] up        build the web client, start (idempotent), migrate, [seed]
#   scripts/stack.sh [--profile P] servers   start the data servers only
#   scripts/stack.sh [--profile P] migrate   migrate the directory and every shard
#   scripts/stack.sh [--profile P] app       start Dramatiq workers and gunicorn
#   scripts/stack.sh [--profile P] down      stop what `up` started
#   scripts/stack.sh [--profile P] status    what runs
#   scripts/stack.sh [--profile P] env       print the profile's environment
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/profile.sh"
source "$(dirname "$0")/monitoring.sh"

PROFILE=dev
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) PROFILE=$2; shift 2 ;;
        --profile=*) PROFILE=${1#*=}; shift ;;
        *) break ;;
    esac
done
CMD=${1:-up}
load_profile "$PROFILE"
RUN="$STACK_DIR/run"
LOG="$STACK_DIR/log"

# PostgreSQL refuses to run as root: as root we run it as an unprivileged user.
pg_user() {
    if ! is_root; then id -un; return; fi
    if id postgres >/dev/null 2>&1; then echo postgres; return; fi
    id photoshare >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin photoshare
    echo photoshare
}

as_pg() {
    if is_root; then runuser -u "$PGUSER_OS" -- "$@"; else "$@"; fi
}

# The data directory must be reachable by the PostgreSQL user. A checkout under
# a private home (e.g. /root) is not, so the cluster then lives in /var/tmp and
# .local/<profile>/pg is a link to it.
pg_root() {
    local dir="$STACK_DIR/pg"
    if [ -L "$dir" ] || [ -d "$dir" ]; then echo "$dir"; return; fi
    mkdir -p "$STACK_DIR"
    if is_root && ! runuser -u "$PGUSER_OS" -- test -x "$STACK_DIR"; then
        local alt
        alt="/var/tmp/photoshare-$(echo "$STACK_DIR" | sha256sum | cut -c1-12)"
        mkdir -p "$alt"
        ln -s "$alt" "$dir"
    else
        mkdir -p "$dir"
    fi
    echo "$dir"
}

start_pg() {
    local name=$1 port=$2 db=$3 data
    data="$(pg_root)/$name"
    if [ -f "$data/postmaster.pid" ] && pid_alive_pg "$data"; then
        say "postgres $name already running on $port"
    else
        if [ ! -f "$data/PG_VERSION" ]; then
            say "initdb $name"
            mkdir -p "$data"
            is_root && chown -R "$PGUSER_OS" "$(pg_root)/" "$data"
            as_pg "$PGBIN/initdb" -D "$data" -U photoshare --auth=trust -E UTF8 \
                --locale=C.UTF-8 >"$LOG/pg-$name-initdb.log" 2>&1 \
                || as_pg "$PGBIN/initdb" -D "$data" -U photoshare --auth=trust -E UTF8 \
                    >"$LOG/pg-$name-initdb.log" 2>&1 \
                || die "initdb failed, see $LOG/pg-$name-initdb.log"
            cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 300
shared_buffers = 128MB
fsync = ${PG_FSYNC:-off}
synchronous_commit = off
full_page_writes = off
max_locks_per_transaction = 1024
log_min_messages = warning
CONF
        fi
        touch "$LOG/pg-$name.log"
        is_root && chown "$PGUSER_OS" "$LOG/pg-$name.log"
        say "starting postgres $name on 127.0.0.1:$port"
        as_pg "$PGBIN/pg_ctl" -D "$data" -l "$LOG/pg-$name.log" -w -t 60 start >/dev/null \
            || die "postgres $name failed to start, see $LOG/pg-$name.log"
    fi
    head -n1 "$data/postmaster.pid" > "$RUN/pg-$name.pid"
    if ! "$PSQL" -h 127.0.0.1 -p "$port" -U photoshare -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
        "$PSQL" -h 127.0.0.1 -p "$port" -U photoshare -d postgres -qc "CREATE DATABASE $db" >/dev/null
    fi
}

pid_alive_pg() { pid_alive "$1/postmaster.pid" postgres; }

# spawn NAME MATCH CMD...: start CMD detached, record its pid in run/NAME.pid.
spawn() {
    local name=$1 match=$2; shift 2
    if pid_alive "$RUN/$name.pid" "$match"; then
        say "$name already running (pid $(cat "$RUN/$name.pid"))"
        return
    fi
    say "starting $name"
    setsid "$@" >>"$LOG/$name.log" 2>&1 < /dev/null &
    echo $! > "$RUN/$name.pid"
}

start_servers() {
    mkdir -p "$RUN" "$LOG"
    PGBIN="$(pg_bindir)" || die "PostgreSQL server binaries not found"
    PSQL="$PGBIN/psql"
    PGUSER_OS="$(pg_user)"
    start_pg directory "$PG_DIRECTORY_PORT" photoshare_directory
    local i=1 p
    for p in $PG_SHARD_PORTS; do
        start_pg "shard$i" "$p" photoshare_shards
        i=$((i + 1))
    done

    spawn redis redis-server redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
        --dir "$STACK_DIR" --save '' --appendonly no --protected-mode yes
    local mc_user=()
    is_root && mc_user=(-u "$PGUSER_OS")
    spawn memcached memcached memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 128 "${mc_user[@]}"
    # moto behind a SigV4 gate: the bucket is not listable anonymously, private
    # objects only open with a valid, unexpired presigned URL (scripts/s3_server.py).
    spawn s3 s3_server "$PY" "$ROOT/scripts/s3_server.py" -H 127.0.0.1 -p "$S3_PORT"
    wait_port "$REDIS_PORT" redis
    wait_port "$MEMCACHED_PORT" memcached
    wait_port "$S3_PORT" "S3 server"
    start_apns_standin
}

# The APNs stand-in of the throw-away profiles (see profile.sh), with a test
# .p8 key and TLS certificates generated once per stack directory.
start_apns_standin() {
    [ -n "${APNS_STANDIN_CONTROL_PORT:-}" ] || return 0
    if [ ! -f "$APNS_DIR/key.p8" ]; then
        say "making a test APNs key and certificate in $APNS_DIR"
        "$PY" "$ROOT/tests/apns_standin.py" --make-keys "$APNS_DIR"
    fi
    spawn apns apns_standin "$PY" "$ROOT/tests/apns_standin.py" \
        --port "$APNS_PORT" --control-port "$APNS_STANDIN_CONTROL_PORT" \
        --key-pub "$APNS_DIR/key.pub.pem" --cert "$APNS_DIR/server.pem" \
        --keyfile "$APNS_DIR/server.key" --key-id "$APNS_KEY_ID" \
        --team-id "$APNS_TEAM_ID" --topic "$APNS_TOPIC"
    wait_port "$APNS_STANDIN_CONTROL_PORT" "APNs stand-in"
}

migrate() {
    say "migrating the directory database"
    "$PY" "$ROOT/manage.py" migrate --noinput -v 0
    say "creating and migrating logical shards"
    "$PY" "$ROOT/manage.py" migrate_shards
    "$PY" "$ROOT/manage.py" ensure_bucket
}

start_app() {
    # An idle worker polls the queue at most every 100 ms (default 1 s), so a
    # fan-out starts well within a second of the upload.
    export dramatiq_worker_timeout=${dramatiq_worker_timeout:-100}
    reset_worker_metrics
    # shellcheck disable=SC2046  (the metrics variables: NAME=value words)
    spawn worker dramatiq env $(worker_metrics_env) "$VENV/bin/dramatiq" backend.worker \
        --processes "${DRAMATIQ_PROCESSES:-1}" --threads "${DRAMATIQ_THREADS:-4}"
    # shellcheck disable=SC2046
    spawn gunicorn gunicorn env $(web_metrics_env "$APP_PORT") "$VENV/bin/gunicorn" \
        backend.asgi:application -c python:backend.gunicorn_conf \
        -k uvicorn_worker.UvicornWorker -b "127.0.0.1:$APP_PORT" \
        -w "${WEB_CONCURRENCY:-2}" --graceful-timeout 5 --timeout 60
    wait_port "$APP_PORT" gunicorn 300
}

stop_all() {
    stop_monitoring
    stop_pid "$RUN/gunicorn.pid" gunicorn gunicorn
    stop_pid "$RUN/worker.pid" dramatiq "dramatiq workers"
    # (moto_server: what the S3 pid file held before the gate existed)
    stop_pid "$RUN/s3.pid" "s3_server\\|moto_server" "S3 server"
    stop_pid "$RUN/apns.pid" apns_standin "APNs stand-in"
    stop_pid "$RUN/memcached.pid" memcached memcached
    stop_pid "$RUN/redis.pid" redis-server redis
    local f
    for f in "$RUN"/pg-*.pid; do
        [ -e "$f" ] || continue
        # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients.
        stop_pid "$f" postgres "$(basename "$f" .pid)" INT
    done
}

status() {
    local f name
    for f in "$RUN"/*.pid; do
        [ -e "$f" ] || continue
        name="$(basename "$f" .pid)"
        if proc_running "$(head -n1 "$f")"; then echo "$name: running (pid $(head -n1 "$f"))"
        else echo "$name: stopped"; fi
    done
}

case "$CMD" in
    up)
        ensure_system_packages
        ensure_monitoring_packages
        ensure_venv
        "$ROOT/scripts/client.sh" build
        start_servers
        start_monitoring  # beside the migration: it only waits for ports
        cd "$ROOT"
        migrate
        if [ "$PROFILE" = dev ]; then "$PY" manage.py seed_demo; fi
        start_app
        wait_monitoring
        say "stack '$PROFILE' is up"
        echo "GraphiQL: http://127.0.0.1:$APP_PORT/graphql"
        echo "Web app:  http://127.0.0.1:$APP_PORT/app/"
        echo "Prometheus: http://127.0.0.1:$PROMETHEUS_PORT/  Alertmanager: http://127.0.0.1:$ALERTMANAGER_PORT/"
        ;;
    servers)
        ensure_system_packages
        ensure_venv
        start_servers
        ;;
    migrate) cd "$ROOT"; migrate ;;
    app) start_app ;;
    down) stop_all ;;
    status) status ;;
    env)
        for v in $(compgen -e | grep -E '^(STACK_|PG_|DIRECTORY_|SHARD_|REDIS_|MEMCACHED_|S3_|AWS_|APP_PORT|DJANGO_SETTINGS_MODULE|LOGICAL_SHARDS|FEED_|CDN_|APNS_|RATE_LIMIT_|TRUSTED_PROXIES|OUTBOX_|SENTRY_STANDIN_PORT|SENTRY_ENVIRONMENT|PROMETHEUS_PORT|ALERTMANAGER_PORT|PAGER_PORT|BLACKBOX_PORT|WORKER_METRICS_PORT|[A-Z]+_EXPORTER_PORTS?$)'); do
            printf 'export %s=%q\n' "$v" "${!v}"
        done
        ;;
    *) die "usage: scripts/stack.sh [--profile P] up|servers|migrate|app|down|status|env" ;;
esac
