# Monitoring of a local stack: Prometheus, Alertmanager, the exporters
# (Debian's packages), the blackbox probe, and the stand-ins for the external
# services they talk to (PagerDuty, Sentry). Sourced by scripts/stack.sh,
# after lib.sh and profile.sh; its ports are the profile's (profile.sh).
# Configs come from deploy/ (rendered with the profile's ports), data and
# logs live under .local/<profile>/, everything listens on 127.0.0.1 and is
# stopped by the pid we recorded.
# shellcheck shell=bash

MONITORING_BINARIES=(
    "prometheus:prometheus"
    "prometheus-alertmanager:prometheus-alertmanager"
    "prometheus-node-exporter:prometheus-node-exporter"
    "prometheus-postgres-exporter:prometheus-postgres-exporter"
    "prometheus-redis-exporter:prometheus-redis-exporter"
    "prometheus-blackbox-exporter:prometheus-blackbox-exporter"
)

ensure_monitoring_packages() {
    local missing=() pair
    for pair in "${MONITORING_BINARIES[@]}"; do
        command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    apt_install "${missing[@]}"
    # The packages start system services on their default ports (node
    # exporter's 9100 is the dev stack's S3 port): we run our own, by pid.
    if [ -d /run/systemd/system ]; then
        systemctl disable --now "${missing[@]}" >/dev/null 2>&1 || true
    fi
}

# render_template TEMPLATE OUT: $NAMES replaced from the environment (string.Template).
render_template() {
    "$PY" -c 'import os, string, sys
sys.stdout.write(string.Template(open(sys.argv[1]).read()).substitute(os.environ))' "$1" > "$2"
}

# The environment the app's processes get for their metrics (backend/metrics.py).
web_metrics_env() {
    echo "PROMETHEUS_MULTIPROC_DIR=$STACK_DIR/metrics/web-$1"
}
worker_metrics_env() {
    local dir="$STACK_DIR/metrics/worker"
    echo "PROMETHEUS_MULTIPROC_DIR=$dir dramatiq_prom_db=$dir dramatiq_prom_host=127.0.0.1 dramatiq_prom_port=$WORKER_METRICS_PORT"
}
# A fresh metrics directory for the workers, unless they run (gunicorn
# empties its own: deploy/gunicorn.conf.py).
reset_worker_metrics() {
    pid_alive "$RUN/worker.pid" "supervise.sh\\|dramatiq" && return 0
    rm -rf "$STACK_DIR/metrics/worker"
    mkdir -p "$STACK_DIR/metrics/worker"
}

# pg_instances: every PostgreSQL instance (PG_INSTANCE_NAMES, as the pid files
# name them), its port and the server it belongs to, in POSTGRES_EXPORTER_PORTS' order.
pg_instances() {
    local i=1 p
    PG_INSTANCE_NAMES=(directory) PG_INSTANCE_PORTS=("$PG_DIRECTORY_PORT")
    PG_INSTANCE_SERVERS=(directory)
    for p in $PG_SHARD_PORTS; do
        PG_INSTANCE_NAMES+=("shard$i") PG_INSTANCE_PORTS+=("$p") PG_INSTANCE_SERVERS+=("shard$i")
        i=$((i + 1))
    done
    PG_INSTANCE_NAMES+=(directory-standby) PG_INSTANCE_PORTS+=("$PG_DIRECTORY_STANDBY_PORT")
    PG_INSTANCE_SERVERS+=(directory)
    i=1
    for p in $PG_SHARD_STANDBY_PORTS; do
        PG_INSTANCE_NAMES+=("shard$i-standby") PG_INSTANCE_PORTS+=("$p")
        PG_INSTANCE_SERVERS+=("shard$i")
        i=$((i + 1))
    done
}

render_monitoring_configs() {
    local dir="$STACK_DIR/monitoring" i=1 p targets="" names=() port
    mkdir -p "$dir"
    pg_instances
    names=("${PG_INSTANCE_SERVERS[@]}")
    # app instances: APP_PORT, APP_PORT+1, ... (APP_INSTANCES, default 1)
    for i in $(seq 0 $((${APP_INSTANCES:-1} - 1))); do
        targets="${targets:+$targets, }\"127.0.0.1:$((APP_PORT + i))\""
    done
    export APP_TARGETS="$targets"
    local pg=""
    i=0
    for port in $POSTGRES_EXPORTER_PORTS; do
        pg+="      - targets: [\"127.0.0.1:$port\"]"$'\n'"        labels: {server: ${names[$i]}, pg_instance: ${PG_INSTANCE_NAMES[$i]}}"$'\n'
        i=$((i + 1))
    done
    export POSTGRES_TARGETS="${pg%$'\n'}"
    export PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:$APP_PORT}
    export ALERT_RULES_FILE="$dir/alerts.yml"
    if [ -n "${ALERT_FOR:-}" ]; then
        # Throw-away stacks: every `for:` shortened, so a test sees an alert in seconds.
        sed -E "s/^( *)for: .*/\1for: $ALERT_FOR/" "$ROOT/deploy/prometheus/alerts.yml" > "$ALERT_RULES_FILE"
    else
        cp "$ROOT/deploy/prometheus/alerts.yml" "$ALERT_RULES_FILE"
    fi
    render_template "$ROOT/deploy/prometheus/prometheus.yml.in" "$dir/prometheus.yml"
    render_template "$ROOT/deploy/alertmanager/alertmanager.yml.in" "$dir/alertmanager.yml"
    promtool check config "$dir/prometheus.yml" >"$LOG/promtool-check.log" 2>&1 \
        || die "the rendered Prometheus config is invalid: see $LOG/promtool-check.log"
}

start_monitoring() {
    mkdir -p "$RUN" "$LOG" "$STACK_DIR/prometheus-data" "$STACK_DIR/alertmanager-data"
    render_monitoring_configs
    local dir="$STACK_DIR/monitoring" names=() ports=() i
    pg_instances
    names=("${PG_INSTANCE_NAMES[@]}") ports=("${PG_INSTANCE_PORTS[@]}")

    spawn pager pager_standin "$PY" "$ROOT/tests/pager_standin.py" --port "$PAGER_PORT" \
        --log "$LOG/pages.jsonl"
    if [ -n "${SENTRY_STANDIN_PORT:-}" ]; then
        spawn sentry sentry_standin "$PY" "$ROOT/tests/sentry_standin.py" --port "$SENTRY_STANDIN_PORT"
    fi
    spawn prometheus "prometheus --config" prometheus --config.file="$dir/prometheus.yml" \
        --storage.tsdb.path="$STACK_DIR/prometheus-data" \
        --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle \
        --storage.tsdb.retention.time=7d
    spawn alertmanager prometheus-alertmanager prometheus-alertmanager \
        --config.file="$dir/alertmanager.yml" --storage.path="$STACK_DIR/alertmanager-data" \
        --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" --cluster.listen-address=
    spawn node-exporter prometheus-node-exporter prometheus-node-exporter \
        --web.listen-address="127.0.0.1:$NODE_EXPORTER_PORT"
    set -- $POSTGRES_EXPORTER_PORTS
    for i in "${!names[@]}"; do
        DATA_SOURCE_NAME="postgresql://photoshare@127.0.0.1:${ports[$i]}/postgres?sslmode=disable&application_name=postgres_exporter" \
            spawn "pg-exporter-${names[$i]}" prometheus-postgres-exporter \
            prometheus-postgres-exporter --web.listen-address="127.0.0.1:$1" \
            --extend.query-path="$ROOT/deploy/prometheus/postgres_queries.yaml"
        shift
    done
    # --check-keys: the length of Dramatiq's queues (messages not yet done).
    spawn redis-exporter prometheus-redis-exporter prometheus-redis-exporter \
        -redis.addr "redis://127.0.0.1:$REDIS_PORT" -web.listen-address "127.0.0.1:$REDIS_EXPORTER_PORT" \
        -check-keys 'photoshare-tasks:*.msgs'
    spawn memcached-exporter memcached_exporter "$PY" "$ROOT/scripts/memcached_exporter.py" \
        --memcached "127.0.0.1:$MEMCACHED_PORT" --listen "127.0.0.1:$MEMCACHED_EXPORTER_PORT"
    spawn blackbox prometheus-blackbox-exporter prometheus-blackbox-exporter \
        --config.file="$ROOT/deploy/prometheus/blackbox.yml" \
        --web.listen-address="127.0.0.1:$BLACKBOX_PORT"
}

# After start_monitoring (which only spawns): every port answers.
wait_monitoring() {
    local port
    for port in "$PAGER_PORT" "$PROMETHEUS_PORT" "$ALERTMANAGER_PORT" "$NODE_EXPORTER_PORT" \
        $POSTGRES_EXPORTER_PORTS "$REDIS_EXPORTER_PORT" "$MEMCACHED_EXPORTER_PORT" "$BLACKBOX_PORT" \
        ${SENTRY_STANDIN_PORT:-}; do
        wait_port "$port" "monitoring (port $port)" 300
    done
}

stop_monitoring() {
    local f
    stop_pid "$RUN/blackbox.pid" prometheus-blackbox-exporter "blackbox exporter"
    stop_pid "$RUN/memcached-exporter.pid" memcached_exporter "memcached exporter"
    stop_pid "$RUN/redis-exporter.pid" prometheus-redis-exporter "redis exporter"
    for f in "$RUN"/pg-exporter-*.pid; do
        [ -e "$f" ] || continue
        stop_pid "$f" prometheus-postgres-exporter "$(basename "$f" .pid)"
    done
    stop_pid "$RUN/node-exporter.pid" prometheus-node-exporter "node exporter"
    stop_pid "$RUN/alertmanager.pid" prometheus-alertmanager alertmanager
    stop_pid "$RUN/prometheus.pid" "prometheus --config" prometheus
    stop_pid "$RUN/sentry.pid" sentry_standin "Sentry stand-in"
    stop_pid "$RUN/pager.pid" pager_standin "pager stand-in"
}
