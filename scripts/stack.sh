#!/usr/bin/env bash
# Starts and stops the local stack: PostgreSQL (directory + physical shards),
# PgBouncer in front of each, Redis, Memcached, an S3 server (moto behind
# scripts/s3_server.py), Dramatiq workers, APP_INSTANCES gunicorn masters and
# nginx in front of them. Everything listens on 127.0.0.1, keeps its data,
# config, logs and pid files under .local/<profile>/, and is stopped by the pid
# we recorded, never by name.
#
#   scripts/stack.sh [--profile P] up        build the web client, start (idempotent), migrate, [seed]
#   scripts/stack.sh [--profile P] servers   start the data servers, PgBouncer, nginx
#   scripts/stack.sh [--profile P] migrate   migrate the directory and every shard
#   scripts/stack.sh [--profile P] app       start Dramatiq workers and the app instances
#   scripts/stack.sh [--profile P] down      stop what `up` started
#   scripts/stack.sh [--profile P] status    what runs
#   scripts/stack.sh [--profile P] env       print the profile's environment
#
# What a rolling deploy (deploy/fabfile.py) does to one instance N, and to the workers:
#   scripts/stack.sh [--profile P] instance-out N      nginx stops sending to it (waits for
#                                                       nginx's old workers, so nothing is in flight)
#   scripts/stack.sh [--profile P] instance-restart N  graceful restart on the code on disk,
#                                                       back when its /readyz answers 200
#   scripts/stack.sh [--profile P] instance-in N       nginx sends to it again
#   scripts/stack.sh [--profile P] worker-restart      Dramatiq finishes or requeues, restarts
#   scripts/stack.sh [--profile P] install             the virtualenv's packages, when changed
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
        replication_conf "$data" "" "$port" "${name%-standby}"
        touch "$LOG/pg-$name.log"
        is_root && chown "$PGUSER_OS" "$LOG/pg-$name.log"
        say "starting postgres $name on 127.0.0.1:$port"
        pg_start "$name" "$data" || die "postgres $name failed to start, see $LOG/pg-$name.log"
    fi
    head -n1 "$data/postmaster.pid" > "$RUN/pg-$name.pid"
    if ! "$PSQL" -h 127.0.0.1 -p "$port" -U photoshare -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
        "$PSQL" -h 127.0.0.1 -p "$port" -U photoshare -d postgres -qc "CREATE DATABASE $db" >/dev/null
    fi
}

# pg_start NAME DATA: pg_ctl start, tried again for up to 10 s. Right after a
# postmaster was killed, its lock file can name a pid not yet reaped (a zombie,
# which PostgreSQL's own check still finds alive: "lock file postmaster.pid
# already exists"), or its old processes can still hold its shared memory.
pg_start() {
    local name=$1 data=$2 tries=10
    until as_pg "$PGBIN/pg_ctl" -D "$data" -l "$LOG/pg-$name.log" -w -t 60 start >/dev/null; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || return 1
        sleep 1
    done
}

pid_alive_pg() { pid_alive "$1/postmaster.pid" postgres; }

# replication_conf DATA SYNC_NAMES [PORT]: the replication settings of a
# primary (or, with PORT, of a standby), in a file of their own that
# postgresql.conf includes last, rewritten at every start. A write commits
# once the standby has flushed it (synchronous_commit = on), so what the API
# acknowledged exists on two servers (docs/decisions/0061-synchronous-standbys.md).
replication_conf() {
    local data=$1 names=$2 port=${3:-} stanza=${4:-}
    grep -q "photoshare-replication.conf" "$data/postgresql.conf" \
        || echo "include_if_exists = 'photoshare-replication.conf'" >> "$data/postgresql.conf"
    {
        echo "wal_level = replica"
        echo "max_wal_senders = 10"
        echo "max_replication_slots = 10"
        echo "hot_standby = on"
        echo "hot_standby_feedback = on"
        echo "wal_keep_size = 256MB"
        echo "synchronous_commit = ${PG_SYNCHRONOUS_COMMIT:-on}"
        echo "synchronous_standby_names = '$names'"
        [ -z "$port" ] || echo "port = $port"
        # pgBackRest reaches the server by a Unix socket (it has no TCP
        # option for a local server), and archives every WAL segment
        # (docs/decisions/0062-backups.md).
        echo "unix_socket_directories = '$(pg_root)/sock'"
        echo "archive_mode = on"
        if [ -n "$stanza" ]; then
            echo "archive_command = 'pgbackrest --config=$(pg_root)/pgbackrest.conf --stanza=$stanza archive-push %p'"
        fi
    } > "$data/photoshare-replication.conf"
    is_root && chown "$PGUSER_OS" "$data/photoshare-replication.conf"
    return 0
}

# instance_timeline DATA: the newest timeline an instance has been on (its
# highest pg_wal/*.history; 1 before any promotion).
instance_timeline() {
    local newest
    newest="$(find "$1/pg_wal" -maxdepth 1 -name '*.history' -printf '%f\n' 2>/dev/null \
        | sort | tail -n1)"
    if [ -z "$newest" ]; then echo 1; else echo $((16#${newest%.history})); fi
}

# pair_primary NAME: which of NAME's two instances ("NAME" and "NAME-standby",
# each with its own data directory and port) is the primary. "NAME" until a
# failover promotes the standby (manage.py shards failover); the old primary,
# fenced, is then the one on the older timeline, or the one in recovery once
# it has been rebuilt (docs/decisions/0064-failover.md).
pair_primary() {
    local name=$1 root a b
    root="$(pg_root)"
    a="$root/$name" b="$root/$name-standby"
    if [ -f "$b/PG_VERSION" ] && [ ! -f "$b/standby.signal" ] \
        && { [ -f "$a/standby.signal" ] || [ ! -f "$a/PG_VERSION" ] \
            || [ "$(instance_timeline "$b")" -gt "$(instance_timeline "$a")" ]; }; then
        echo "$name-standby"
    else
        echo "$name"
    fi
}

# start_standby PRIMARY PRIMARY_PORT NAME PORT: the instance NAME as the hot
# standby of PRIMARY (a base backup of the running primary the first time,
# streaming through a replication slot), then the primary waits for it on
# every commit. Loopback only, its own port and data directory. An instance
# that is not a standby (the old primary after a failover: fenced, it never
# starts as a primary again) is rebuilt from a fresh base backup first.
start_standby() {
    local primary_name=$1 pport=$2 name=$3 port=$4 data primary
    primary="$(pg_root)/$primary_name"
    data="$(pg_root)/$name"
    if [ -f "$data/postmaster.pid" ] && pid_alive_pg "$data" && [ -f "$data/standby.signal" ]; then
        say "standby $name already running on $port"
    else
        if [ -f "$data/PG_VERSION" ] && [ ! -f "$data/standby.signal" ]; then
            say "$name was the primary before a failover: rebuilding it as the standby of $primary_name"
            if [ -f "$data/postmaster.pid" ] && pid_alive_pg "$data"; then
                as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate stop >/dev/null || true
            fi
        fi
        if [ ! -f "$data/standby.signal" ]; then
            say "base backup of $primary_name for its standby $name"
            "$PSQL" -h 127.0.0.1 -p "$pport" -U photoshare -d postgres -qtAc \
                "SELECT pg_create_physical_replication_slot('standby') WHERE NOT EXISTS
                 (SELECT 1 FROM pg_replication_slots WHERE slot_name = 'standby')" >/dev/null
            # Into a directory of its own, moved into place once complete: an
            # interrupted backup must not leave a half copy that looks like a
            # primary (no standby.signal) to the next run.
            rm -rf "$data.new"
            as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -U photoshare -D "$data.new" \
                -X stream -S standby -c fast >"$LOG/pg-$name-basebackup.log" 2>&1 \
                || die "base backup of $primary_name failed, see $LOG/pg-$name-basebackup.log"
            # (a promoted primary's copy still names its own old primary)
            as_pg sed -i '/^primary_conninfo\|^primary_slot_name/d' "$data.new/postgresql.auto.conf"
            cat >> "$data.new/postgresql.auto.conf" <<CONF
primary_conninfo = 'host=127.0.0.1 port=$pport user=photoshare application_name=standby'
primary_slot_name = 'standby'
CONF
            as_pg touch "$data.new/standby.signal"
            rm -rf "$data"
            mv "$data.new" "$data"
        fi
        replication_conf "$data" "" "$port"
        touch "$LOG/pg-$name.log"
        is_root && chown "$PGUSER_OS" "$LOG/pg-$name.log"
        say "starting the standby $name of $primary_name on 127.0.0.1:$port"
        pg_start "$name" "$data" || die "the standby $name failed to start, see $LOG/pg-$name.log"
    fi
    head -n1 "$data/postmaster.pid" > "$RUN/pg-$name.pid"
    # Synchronous from now on: the primary's commits wait for this standby
    # (a failover set synchronous_standby_names to '' while it had none).
    replication_conf "$primary" "standby" "$pport" "${primary_name%-standby}"
    "$PSQL" -h 127.0.0.1 -p "$pport" -U photoshare -d postgres -qtAc \
        "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null
    as_pg "$PGBIN/pg_ctl" -D "$primary" reload >/dev/null
    local tries=300
    until [ "$("$PSQL" -h 127.0.0.1 -p "$pport" -U photoshare -d postgres -tAc \
        "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'")" = sync ]; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || die "the standby $name of $primary_name is not streaming synchronously"
        sleep 0.1
    done
}

# pgbackrest.conf: one stanza per PostgreSQL server, one repository under
# the PostgreSQL root (an S3 repository is configuration: repo1-type=s3,
# repo1-s3-bucket, ... in PGBACKREST_REPO_CONF's file, appended to [global]).
write_pgbackrest_conf() {
    local root i p primary
    root="$(pg_root)"
    mkdir -p "$root/sock" "$root/backup" "$root/backup-log" "$root/backup-spool"
    {
        echo "[global]"
        echo "repo1-path=$root/backup"
        echo "repo1-retention-full=2"
        echo "log-path=$root/backup-log"
        echo "lock-path=$root/backup-spool"
        echo "spool-path=$root/backup-spool"
        echo "log-level-console=warn"
        echo "log-level-file=info"
        echo "start-fast=y"
        echo "compress-type=gz"
        echo "compress-level=1"
        [ -z "${PGBACKREST_REPO_CONF:-}" ] || cat "$PGBACKREST_REPO_CONF"
        echo
        # Each stanza backs up the server's current primary (pair_primary).
        primary="$(pair_primary directory)"
        echo "[directory]"
        echo "pg1-path=$root/$primary"
        echo "pg1-port=$(pair_port directory "$primary" "$PG_DIRECTORY_PORT" "$PG_DIRECTORY_STANDBY_PORT")"
        echo "pg1-socket-path=$root/sock"
        echo "pg1-user=photoshare"
        i=1
        for p in $PG_SHARD_PORTS; do
            echo
            primary="$(pair_primary "shard$i")"
            echo "[shard$i]"
            echo "pg1-path=$root/$primary"
            echo "pg1-port=$(pair_port "shard$i" "$primary" "$p" \
                "$(echo "$PG_SHARD_STANDBY_PORTS" | cut -d' ' -f"$i")")"
            echo "pg1-socket-path=$root/sock"
            echo "pg1-user=photoshare"
            i=$((i + 1))
        done
    } > "$root/pgbackrest.conf"
    is_root && chown -R "$PGUSER_OS" "$root/sock" "$root/backup" "$root/backup-log" \
        "$root/backup-spool" "$root/pgbackrest.conf"
    return 0
}

# backup [full|incr]: a pgBackRest backup of every PostgreSQL server now
# (full the first time, else incremental unless told), side by side; prints
# one JSON object: per server its type, label and seconds.
backup() {
    local want=${1:-} root conf stanza type pids=() out=() started cs label p
    PGUSER_OS="$(pg_user)"
    root="$(pg_root)"
    conf="$root/pgbackrest.conf"
    [ -f "$conf" ] || die "no $conf: start the stack first (scripts/stack.sh up)"
    for stanza in directory $(seq -f 'shard%g' 1 "$(echo "$PG_SHARD_PORTS" | wc -w)"); do
        (
            started=$(date +%s%N)
            as_pg pgbackrest --config="$conf" --stanza="$stanza" stanza-create >/dev/null 2>&1 \
                || as_pg pgbackrest --config="$conf" --stanza="$stanza" stanza-upgrade >/dev/null
            type=$want
            if [ -z "$type" ]; then
                if as_pg pgbackrest --config="$conf" --stanza="$stanza" info --output=json \
                    | grep -q '"label"'; then type=incr; else type=full; fi
            fi
            as_pg pgbackrest --config="$conf" --stanza="$stanza" --type="$type" backup \
                >"$LOG/backup-$stanza.log" 2>&1 \
                || die "backup of $stanza failed, see $LOG/backup-$stanza.log"
            label="$(as_pg pgbackrest --config="$conf" --stanza="$stanza" info --output=json \
                | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["backup"][-1]["label"])')"
            cs=$((($(date +%s%N) - started) / 10000000))
            printf '"%s": {"type": "%s", "label": "%s", "seconds": %d.%02d}' "$stanza" "$type" \
                "$label" $((cs / 100)) $((cs % 100)) > "$RUN/backup-$stanza.json"
        ) & pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || die "a backup failed"; done
    for stanza in "$RUN"/backup-*.json; do out+=("$(cat "$stanza")"); done
    rm -f "$RUN"/backup-*.json
    (IFS=,; echo "{${out[*]}}")
}

# pair_port NAME INSTANCE PORT STANDBY_PORT: the port of one of NAME's instances.
pair_port() { if [ "$2" = "$1" ]; then echo "$3"; else echo "$4"; fi; }

# start_pg_pair NAME PORT DB STANDBY_PORT: NAME's primary and its standby
# (after a failover, "NAME-standby" is the primary; pair_primary).
start_pg_pair() {
    local name=$1 port=$2 db=$3 sport=$4 primary other
    primary="$(pair_primary "$name")"
    if [ "$primary" = "$name" ]; then other="$name-standby"; else other="$name"; fi
    start_pg "$primary" "$(pair_port "$name" "$primary" "$port" "$sport")" "$db"
    # The stanza exists from the start: archive_command fails until it does,
    # and PostgreSQL then keeps every WAL segment and retries each minute.
    local conf
    conf="$(pg_root)/pgbackrest.conf"
    if [ ! -f "$(pg_root)/backup/archive/$name/archive.info" ]; then
        as_pg pgbackrest --config="$conf" --stanza="$name" stanza-create \
            >"$LOG/backup-stanza-$name.log" 2>&1 \
            || die "pgBackRest could not create the stanza $name, see $LOG/backup-stanza-$name.log"
    fi
    if [ "${PG_STANDBYS:-on}" = on ]; then
        start_standby "$primary" "$(pair_port "$name" "$primary" "$port" "$sport")" \
            "$other" "$(pair_port "$name" "$other" "$port" "$sport")"
    fi
}

# render TEMPLATE OUT NAME=VALUE...: TEMPLATE with every @NAME@ replaced.
render() {
    local template=$1 out=$2 text kv
    shift 2
    text="$(cat "$template")"
    for kv in "$@"; do
        text="${text//@${kv%%=*}@/${kv#*=}}"
    done
    printf '%s\n' "$text" > "$out"
}

# PgBouncer in front of one PostgreSQL server, run as the PostgreSQL user (it
# refuses root); its files live beside the clusters, which that user can read.
start_pgbouncer() {
    local name=$1 pg_port=$2 port=$3 db=$4 sport=$5 dir conf users databases primary replica
    dir="$(pg_root)"
    conf="$dir/pgbouncer-$name.ini"
    databases="$dir/pgbouncer-$name-databases.ini"
    primary="$(pair_primary "$name")"
    replica="$pg_port"
    if [ "${PG_STANDBYS:-on}" = on ]; then
        if [ "$primary" = "$name" ]; then replica="$sport"; else replica="$pg_port"; fi
    fi
    pg_port="$(pair_port "$name" "$primary" "$pg_port" "$sport")"
    render "$ROOT/deploy/pgbouncer-databases.ini.template" "$databases" DB="$db" \
        PG_PORT="$pg_port" REPLICA_PORT="$replica" POOL_SIZE="$PGBOUNCER_POOL_SIZE" \
        NESTED_POOL_SIZE="$PGBOUNCER_NESTED_POOL_SIZE"
    # One users file each: a PgBouncer reads its file when it starts, which
    # may be while the next one is being set up.
    users="$dir/pgbouncer-$name-users.txt"
    printf '"photoshare" ""\n' > "$users"
    render "$ROOT/deploy/pgbouncer.ini.template" "$conf" DB="$db" PG_PORT="$pg_port" \
        PORT="$port" AUTH_FILE="$users" POOL_SIZE="$PGBOUNCER_POOL_SIZE" \
        DATABASES_FILE="$databases"
    local as=()
    if is_root; then
        chown "$PGUSER_OS" "$conf" "$users" "$databases"
        as=(-u "$PGUSER_OS")
    fi
    if pid_alive "$RUN/pgbouncer-$name.pid" pgbouncer; then
        # Running: it re-reads its databases (the primary may have changed).
        kill -HUP "$(head -n1 "$RUN/pgbouncer-$name.pid")"
    fi
    spawn "pgbouncer-$name" pgbouncer "$PGBOUNCER_BIN" "${as[@]}" "$conf"
}

# Debian puts it in /usr/sbin, which is not on every user's PATH.
PGBOUNCER_BIN="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"

NGINX_BIN="$(command -v nginx || echo /usr/sbin/nginx)"
NGINX_DIR="$STACK_DIR/nginx"
NGINX_ARGS=(-e "$LOG/nginx-error.log" -c "$NGINX_DIR/nginx.conf")

# upstream.conf: one server line per instance; an instance taken out by a
# deploy (run/appN.out) is marked down.
nginx_upstream() {
    local i text="" down
    for i in $(seq "$APP_INSTANCES"); do
        down=""
        [ -e "$RUN/app$i.out" ] && down=" down"
        text+="server 127.0.0.1:$((APP_PORT + i - 1)) max_fails=1 fail_timeout=3s$down;"$'\n'
    done
    printf '%s' "$text" > "$NGINX_DIR/upstream.conf"
}

nginx_conf_sum() { { cat "$NGINX_DIR/nginx.conf" "$NGINX_DIR/upstream.conf" 2>/dev/null || true; } | cksum; }

start_nginx() {
    local user="" before
    mkdir -p "$NGINX_DIR/tmp"
    before="$(nginx_conf_sum)"
    # As root, nginx's workers run as the PostgreSQL user when it can read the
    # checkout (the web client's files), else as root.
    if is_root; then
        if runuser -u "$PGUSER_OS" -- test -r "$ROOT/README.md"; then
            user="user $PGUSER_OS;"
            chown -R "$PGUSER_OS" "$NGINX_DIR/tmp"
        else
            user="user root;"
        fi
    fi
    render "$ROOT/deploy/nginx.conf.template" "$NGINX_DIR/nginx.conf" \
        NGINX_DIR="$NGINX_DIR" LOG_DIR="$LOG" NGINX_USER="$user" NGINX_PORT="$NGINX_PORT" \
        MAX_BODY_BYTES="$(( ${PHOTO_MAX_BYTES:-26214400} + 1048576 ))" \
        WEB_DIST="$ROOT/frontend-sample/dist"
    nginx_upstream
    "$NGINX_BIN" -t -q "${NGINX_ARGS[@]}" || die "nginx config invalid, see $LOG/nginx-error.log"
    if pid_alive "$RUN/nginx.pid" "nginx: master"; then
        # Only for a changed configuration: a reload closes the old workers'
        # idle keep-alive connections, and a client sending on one just then
        # gets no answer at all. (`servers` runs this with nginx up, to start
        # again whatever server is down.)
        [ "$(nginx_conf_sum)" = "$before" ] || nginx_reload
    else
        spawn nginx "nginx: master" "$NGINX_BIN" "${NGINX_ARGS[@]}" -g "daemon off;"
    fi
}

# Reload nginx and wait until its old workers are gone: they stop taking new
# requests at once and exit when their last one is answered, so afterwards
# nothing is in flight under the old upstream list.
nginx_reload() {
    local master old p tries
    pid_alive "$RUN/nginx.pid" "nginx: master" || die "nginx is not running"
    master="$(head -n1 "$RUN/nginx.pid")"
    "$NGINX_BIN" -t -q "${NGINX_ARGS[@]}" || die "nginx config invalid, see $LOG/nginx-error.log"
    old="$(ps -o pid= --ppid "$master")"
    kill -HUP "$master"
    for p in $old; do
        tries=900
        while proc_running "$p"; do
            tries=$((tries - 1))
            [ "$tries" -gt 0 ] || die "nginx worker $p did not finish within 90 s"
            sleep 0.1
        done
    done
}

instance_port() { echo $((APP_PORT + $1 - 1)); }

instance_out() {
    touch "$RUN/app$1.out"
    nginx_upstream
    nginx_reload
    say "app$1 (port $(instance_port "$1")) is out of nginx"
}

instance_in() {
    rm -f "$RUN/app$1.out"
    nginx_upstream
    nginx_reload
    say "app$1 (port $(instance_port "$1")) is back in nginx"
}

ready() { curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$1/readyz" 2>/dev/null; }

# restart_child NAME TIMEOUT: TERM the supervised process (a gunicorn master
# or Dramatiq), which finishes what it is doing; its supervisor starts it
# again from the code and virtualenv on disk. Waits for the new pid.
restart_child() {
    local name=$1 tries=$(($2 * 10)) old new
    pid_alive "$RUN/$name.pid" supervise.sh || die "$name is not running (scripts/stack.sh up)"
    old="$(head -n1 "$RUN/$name.child.pid")"
    say "restarting $name (pid $old)"
    kill -TERM "$old"
    while proc_running "$old"; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || die "$name (pid $old) did not stop in time"
        sleep 0.1
    done
    tries=300
    while :; do
        new="$(head -n1 "$RUN/$name.child.pid" 2>/dev/null || true)"
        [ -n "$new" ] && [ "$new" != "$old" ] && proc_running "$new" && break
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || die "$name did not come back (see $LOG/$name.log)"
        sleep 0.1
    done
}

instance_restart() {
    local i=$1 port tries=600
    port="$(instance_port "$i")"
    # gunicorn's graceful timeout is 30 s: in-flight requests get that long.
    restart_child "app$i" 45
    while ! ready "$port"; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || die "app$i did not become ready on $port (see $LOG/app$i.log)"
        sleep 0.1
    done
    say "app$i is ready on $port (pid $(head -n1 "$RUN/app$i.child.pid"))"
}

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
    # The PostgreSQL servers start side by side (initdb and start take seconds each).
    local pids=() i=1 p pid
    pg_root >/dev/null
    write_pgbackrest_conf
    start_pg_pair directory "$PG_DIRECTORY_PORT" photoshare_directory \
        "$PG_DIRECTORY_STANDBY_PORT" & pids+=($!)
    for p in $PG_SHARD_PORTS; do
        start_pg_pair "shard$i" "$p" photoshare_shards \
            "$(echo "$PG_SHARD_STANDBY_PORTS" | cut -d' ' -f"$i")" & pids+=($!)
        i=$((i + 1))
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || die "a PostgreSQL server did not start (see $LOG/pg-*.log)"
    done
    start_pgbouncer directory "$PG_DIRECTORY_PORT" "$PGBOUNCER_DIRECTORY_PORT" \
        photoshare_directory "$PG_DIRECTORY_STANDBY_PORT"
    i=1
    for p in $PG_SHARD_PORTS; do
        start_pgbouncer "shard$i" "$p" "$(echo "$PGBOUNCER_SHARD_PORTS" | cut -d' ' -f"$i")" \
            photoshare_shards "$(echo "$PG_SHARD_STANDBY_PORTS" | cut -d' ' -f"$i")"
        i=$((i + 1))
    done
    start_nginx

    start_redis
    local mc_user=()
    is_root && mc_user=(-u "$PGUSER_OS")
    spawn memcached memcached memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 128 "${mc_user[@]}"
    # moto behind a SigV4 gate: the bucket is not listable anonymously, private
    # objects only open with a valid, unexpired presigned URL (scripts/s3_server.py).
    spawn s3 s3_server "$PY" "$ROOT/scripts/s3_server.py" -H 127.0.0.1 -p "$S3_PORT"
    wait_port "$REDIS_PORT" redis
    wait_port "$REDIS_REPLICA_PORT" "redis replica"
    wait_port "$MEMCACHED_PORT" memcached
    wait_port "$S3_PORT" "S3 server"
    wait_port "$PGBOUNCER_DIRECTORY_PORT" "pgbouncer (directory)"
    for p in $PGBOUNCER_SHARD_PORTS; do wait_port "$p" pgbouncer; done
    wait_port "$NGINX_PORT" nginx
    start_apns_standin
}

# Redis (feeds, the photo map, rate limits, the Dramatiq queue) and its
# replica, each with its own directory under the stack's. The primary appends
# every write to its AOF and fsyncs it before it answers (appendfsync
# always), so a message the broker was told is queued survives a restart or
# a crash of Redis; the replica streams from it (asynchronously) and keeps an
# AOF of its own, so a promoted replica (REPLICAOF NO ONE) is as durable at
# once. See docs/decisions/0065-redis-replica-and-aof.md.
start_redis() {
    local durable=(--protected-mode yes --save '' --appendonly yes --appendfsync always)
    mkdir -p "$STACK_DIR/redis" "$STACK_DIR/redis-replica"
    spawn redis redis-server redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
        --dir "$STACK_DIR/redis" "${durable[@]}"
    spawn redis-replica redis-server redis-server --bind 127.0.0.1 --port "$REDIS_REPLICA_PORT" \
        --dir "$STACK_DIR/redis-replica" "${durable[@]}" --replicaof 127.0.0.1 "$REDIS_PORT"
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
    # Supervised (scripts/supervise.sh): a crashed or killed process, or one a
    # deploy stopped gracefully, is started again without a manual step.
    # `env` first: the metrics variables (scripts/monitoring.sh), NAME=value words.
    # shellcheck disable=SC2046
    spawn worker supervise.sh env $(worker_metrics_env) \
        "$ROOT/scripts/supervise.sh" "$RUN/worker.child.pid" \
        "$VENV/bin/dramatiq" backend.worker \
        --processes "${DRAMATIQ_PROCESSES:-1}" --threads "${DRAMATIQ_THREADS:-4}"
    local i
    for i in $(seq "$APP_INSTANCES"); do
        # Each instance is its own gunicorn master on its own port. gunicorn's
        # keep-alive (75 s) outlasts nginx's upstream keepalive_timeout (60 s).
        # shellcheck disable=SC2046
        spawn "app$i" supervise.sh env $(web_metrics_env "$(instance_port "$i")") \
            "$ROOT/scripts/supervise.sh" "$RUN/app$i.child.pid" \
            "$VENV/bin/gunicorn" backend.asgi:application -c "$ROOT/deploy/gunicorn.conf.py" \
            -k uvicorn_worker.UvicornWorker -b "127.0.0.1:$(instance_port "$i")" \
            -w "${WEB_CONCURRENCY:-2}" --graceful-timeout 30 --timeout 60 --keep-alive 75
    done
    for i in $(seq "$APP_INSTANCES"); do
        wait_port "$(instance_port "$i")" "app$i" 600
    done
    # Up means the public URL answers: nginx may have marked the instances
    # failed (fail_timeout) when something called before they listened.
    local tries=300
    until ready "$NGINX_PORT"; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || die "nginx does not answer /readyz on $NGINX_PORT (see $LOG/app*.log)"
        sleep 0.1
    done
}

stop_all() {
    stop_monitoring
    stop_pid "$RUN/nginx.pid" "nginx: master" nginx QUIT
    local f
    for f in "$RUN"/app*.pid; do
        case "$f" in *.child.pid) continue ;; esac
        [ -e "$f" ] || continue
        stop_pid "$f" supervise.sh "$(basename "$f" .pid)"
    done
    rm -f "$RUN"/app*.out
    # (gunicorn.pid: the single instance of stacks started before nginx)
    stop_pid "$RUN/gunicorn.pid" gunicorn gunicorn
    stop_pid "$RUN/worker.pid" "supervise.sh\\|dramatiq" "dramatiq workers"
    # (moto_server: what the S3 pid file held before the gate existed)
    stop_pid "$RUN/s3.pid" "s3_server\\|moto_server" "S3 server"
    stop_pid "$RUN/apns.pid" apns_standin "APNs stand-in"
    stop_pid "$RUN/memcached.pid" memcached memcached
    stop_pid "$RUN/redis-replica.pid" redis-server "redis replica"
    stop_pid "$RUN/redis.pid" redis-server redis
    for f in "$RUN"/pgbouncer-*.pid; do
        [ -e "$f" ] || continue
        stop_pid "$f" pgbouncer "$(basename "$f" .pid)" INT
    done
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
        echo "GraphiQL: $PUBLIC_URL/graphql"
        echo "Web app:  $PUBLIC_URL/app/"
        echo "Prometheus: http://127.0.0.1:$PROMETHEUS_PORT/  Alertmanager: http://127.0.0.1:$ALERTMANAGER_PORT/"
        ;;
    servers)
        ensure_system_packages
        ensure_venv
        start_servers
        ;;
    migrate) cd "$ROOT"; migrate ;;
    install) ensure_venv ;;
    app) start_app ;;
    instance-out|instance-in|instance-restart)
        [ $# -ge 2 ] && [ "$2" -ge 1 ] 2>/dev/null && [ "$2" -le "$APP_INSTANCES" ] \
            || die "usage: scripts/stack.sh $CMD N (1..$APP_INSTANCES)"
        mkdir -p "$RUN"
        "${CMD//-/_}" "$2"
        ;;
    instances) echo "$APP_INSTANCES" ;;
    worker-restart)
        # Dramatiq on TERM stops taking messages, lets running ones finish
        # (their time limit at most) and returns prefetched ones to the queue.
        restart_child worker 600
        say "workers restarted (pid $(head -n1 "$RUN/worker.child.pid"))"
        ;;
    backup) mkdir -p "$RUN" "$LOG"; backup "${2:-}" ;;
    down) stop_all ;;
    status) status ;;
    env)
        for v in $(compgen -e | grep -E '^(STACK_|PG_|DIRECTORY_|SHARD_|REDIS_|MEMCACHED_|S3_|AWS_|APP_PORT|APP_INSTANCES|PGBOUNCER_|NGINX_PORT|PUBLIC_URL|DJANGO_SETTINGS_MODULE|LOGICAL_SHARDS|FEED_|CDN_|APNS_|RATE_LIMIT_|TRUSTED_PROXIES|OUTBOX_|SENTRY_STANDIN_PORT|SENTRY_ENVIRONMENT|PROMETHEUS_PORT|ALERTMANAGER_PORT|PAGER_PORT|BLACKBOX_PORT|WORKER_METRICS_PORT|[A-Z]+_EXPORTER_PORTS?$)'); do
            printf 'export %s=%q\n' "$v" "${!v}"
        done
        ;;
    *) die "usage: scripts/stack.sh [--profile P] up|servers|migrate|app|down|status|env|instances|instance-out N|instance-restart N|instance-in N|worker-restart" ;;
esac
