#!/usr/bin/env bash
# `make restore-drill`: proves the backups. For every PostgreSQL server of the
# stack, restores its latest pgBackRest backup plus archived WAL to one
# point in time into a scratch cluster on a spare port, asks the restored
# servers the same GraphQL reads (user profiles, photo lists, comments,
# follow counts) as the live ones answered at that time, and prints JSON:
# {"matches": true|false, "target_time": ..., "restore_seconds": {...}, ...}.
# docs/decisions/0063-restore-drill.md.
#
#   scripts/restore_drill.sh [--profile P] [--users N]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/profile.sh"

PROFILE=dev USERS=20
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) PROFILE=$2; shift 2 ;;
        --users) USERS=$2; shift 2 ;;
        *) die "usage: scripts/restore_drill.sh [--profile P] [--users N]" ;;
    esac
done
load_profile "$PROFILE"
RUN="$STACK_DIR/run"
LOG="$STACK_DIR/log"
ROOT_PG="$STACK_DIR/pg"
CONF="$ROOT_PG/pgbackrest.conf"
DRILL="$ROOT_PG/drill"
[ -f "$CONF" ] || die "no $CONF: start the stack (scripts/stack.sh up) and take a backup (make backup)"
PGBIN="$(pg_bindir)" || die "PostgreSQL server binaries not found"
PSQL_BIN="$PGBIN/psql"

pg_os_user() {
    if ! is_root; then id -un; elif id postgres >/dev/null 2>&1; then echo postgres; else echo photoshare; fi
}
PGUSER_OS="$(pg_os_user)"
as_pg() { if is_root; then runuser -u "$PGUSER_OS" -- "$@"; else "$@"; fi; }

STANZAS=(directory)
n=$(echo "$PG_SHARD_PORTS" | wc -w)
for i in $(seq 1 "$n"); do STANZAS+=("shard$i"); done
# Spare ports: 5460 + the profile's offset, one per server.
base=$((PG_DIRECTORY_PORT + 20))
declare -A PORT
i=0
for s in "${STANZAS[@]}"; do PORT[$s]=$((base + i)); i=$((i + 1)); done

# Reads with Memcached out of the way (a closed port): cached copies may lag.
reads() {
    MEMCACHED_LOCATION=127.0.0.1:9 "$PY" "$ROOT/manage.py" drill_reads "$@" \
        2>>"$LOG/restore-drill-reads.log"
}

cleanup() {
    local s
    for s in "${STANZAS[@]}"; do
        if [ -f "$DRILL/$s/postmaster.pid" ]; then
            as_pg "$PGBIN/pg_ctl" -D "$DRILL/$s" -m immediate stop >/dev/null 2>&1 || true
        fi
        rm -f "$RUN/drill-$s.pid"
    done
    rm -rf "$DRILL"
}
trap cleanup EXIT
cleanup
mkdir -p "$DRILL" "$RUN" "$LOG"
is_root && chown "$PGUSER_OS" "$DRILL"

# A backup of every server must exist (make backup takes one).
for s in "${STANZAS[@]}"; do
    as_pg pgbackrest --config="$CONF" --stanza="$s" info --output=json | grep -q '"label"' \
        || die "no backup of $s yet: run make backup first"
done

# The live answers as of the target time: asked right before and right after
# it, and only a stack that answered the same both times is compared.
cd "$ROOT"
live="$(reads --count "$USERS")"
ids="$(echo "$live" | "$PY" -c 'import json,sys; print(",".join(json.load(sys.stdin)))')"
stable=false
for attempt in 1 2 3; do
    target="$(date -u '+%Y-%m-%d %H:%M:%S.%6N+00')"
    live_after="$(reads --ids "$ids")"
    if [ "$live" = "$live_after" ]; then stable=true; break; fi
    live="$live_after"  # written to meanwhile: ask again around a new target time
done

# Recovery to a time stops at the first commit after it, and fails when the
# WAL ends before one: a quiet server gets a commit of its own (an empty
# transaction that took an xid) after the target.
for port in "$PG_DIRECTORY_PORT" $PG_SHARD_PORTS; do
    "$PSQL_BIN" -h 127.0.0.1 -p "$port" -U photoshare -d postgres -qtAc "SELECT txid_current()" \
        >/dev/null
done
# Every server's WAL up to the target must be in the repository: `check`
# switches to a new WAL segment and waits until the last one is archived.
for s in "${STANZAS[@]}"; do
    as_pg pgbackrest --config="$CONF" --stanza="$s" check >>"$LOG/restore-drill.log" 2>&1 \
        || die "pgbackrest check of $s failed, see $LOG/restore-drill.log"
done

restore_one() {
    local s=$1 data="$DRILL/$1" port=${PORT[$1]} started cs
    trap - EXIT  # a subshell: the main shell cleans up, once, at the end
    started=$(date +%s%N)
    as_pg pgbackrest --config="$CONF" --stanza="$s" --pg1-path="$data" --type=time \
        "--target=$target" --target-action=promote --delta restore >>"$LOG/restore-drill-$s.log" 2>&1 \
        || die "restore of $s failed, see $LOG/restore-drill-$s.log"
    # A scratch server: its own port, no socket, nothing archived into the
    # live repository, no standby to wait for.
    as_pg sh -c "cat > '$data/photoshare-replication.conf'" <<CONF
port = $port
unix_socket_directories = ''
archive_mode = off
synchronous_standby_names = ''
hot_standby = on
CONF
    rm -f "$data/standby.signal"
    touch "$LOG/restore-drill-$s-server.log"
    is_root && chown "$PGUSER_OS" "$LOG/restore-drill-$s-server.log"
    as_pg "$PGBIN/pg_ctl" -D "$data" -l "$LOG/restore-drill-$s-server.log" -w -t 600 start \
        >/dev/null || die "the restored $s did not start, see $LOG/restore-drill-$s-server.log"
    head -n1 "$data/postmaster.pid" > "$RUN/drill-$s.pid"
    local tries=3000
    until [ "$("$PSQL_BIN" -h 127.0.0.1 -p "$port" -U photoshare -d postgres -tAc \
        'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || die "the restored $s did not finish recovery"
        sleep 0.1
    done
    cs=$((($(date +%s%N) - started) / 10000000))
    printf '"%s": %d.%02d' "$s" $((cs / 100)) $((cs % 100)) > "$DRILL/$s.seconds"
}

pids=()
for s in "${STANZAS[@]}"; do restore_one "$s" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || die "a restore failed"; done

# The same reads against the restored servers, straight to PostgreSQL.
urls="" directs=""
for s in "${STANZAS[@]:1}"; do
    url="postgresql://photoshare@127.0.0.1:${PORT[$s]}/photoshare_shards"
    urls="${urls:+$urls,}$s=$url"
done
dir_url="postgresql://photoshare@127.0.0.1:${PORT[directory]}/photoshare_directory"
restored="$(DIRECTORY_DATABASE_URL="$dir_url" DIRECTORY_DIRECT_DATABASE_URL="$dir_url" \
    SHARD_DATABASE_URLS="$urls" SHARD_DIRECT_DATABASE_URLS="$urls" reads --ids "$ids")"

seconds=()
for s in "${STANZAS[@]}"; do seconds+=("$(cat "$DRILL/$s.seconds")"); done
LIVE="$live" RESTORED="$restored" STABLE="$stable" TARGET="$target" \
    SECONDS_JSON="{$(IFS=,; echo "${seconds[*]}")}" "$PY" - <<'PY'
import json, os
live, restored = json.loads(os.environ["LIVE"]), json.loads(os.environ["RESTORED"])
differ = sorted(k for k in live if live[k] != restored.get(k))
errors = sum(1 for v in restored.values() if v.get("errors"))
print(json.dumps({
    "matches": os.environ["STABLE"] == "true" and not differ and not errors,
    "target_time": os.environ["TARGET"],
    "users_compared": len(live),
    "differing_users": differ,
    "live_answers_stable": os.environ["STABLE"] == "true",
    "restore_seconds": json.loads(os.environ["SECONDS_JSON"]),
}))
PY
