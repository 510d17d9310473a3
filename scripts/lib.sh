# Shared helpers for the stack scripts. Sourced, not executed.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31merror: %s\033[0m\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# apt_install PKG... installs Debian packages when running as root, else explains.
apt_install() {
    if ! is_root; then
        die "missing system packages: $*. Run as root, or: sudo apt-get install -y $*"
    fi
    command -v apt-get >/dev/null || die "apt-get not found; install $* with your package manager"
    say "installing system packages: $*"
    if [ -z "${_APT_UPDATED:-}" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
        _APT_UPDATED=1
    fi
    # Debian starts a package's service on install (nginx on port 80, a
    # PgBouncer on 6432); the stack runs its own, so none is started unless
    # the machine already has a policy of its own.
    local policy=/usr/sbin/policy-rc.d ours=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && ours=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || rc=$?
    [ -n "$ours" ] && rm -f "$policy"
    [ "$rc" = 0 ] || die "apt-get install $* failed"
}

pg_bindir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    local p
    p="$(command -v pg_ctl || true)"
    [ -n "$p" ] && { dirname "$(readlink -f "$p")"; return 0; }
    return 1
}

ensure_system_packages() {
    local missing=()
    pg_bindir >/dev/null || missing+=(postgresql)
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v memcached >/dev/null || missing+=(memcached)
    command -v pgbackrest >/dev/null || missing+=(pgbackrest)
    command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
    python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
    if [ ${#missing[@]} -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
}

ensure_venv() {
    [ -x "$PY" ] || { say "creating virtualenv in .venv"; python3 -m venv "$VENV" || die "python3 -m venv failed"; }
    local stamp="$VENV/.installed" want
    want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        say "installing Python packages into .venv"
        "$PY" -m pip install -q --upgrade pip >&2 || die "pip upgrade failed"
        "$PY" -m pip install -q -e "$ROOT[dev]" >&2 || die "pip install failed"
        echo "$want" > "$stamp"
    fi
}

# Debian's Chromium for the browser tests (tests/browser/): Playwright drives it
# by path and never downloads a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
ensure_chromium() {
    [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || apt_install chromium
}

# wrk, the HTTP load generator of the load tests and the CPU benchmark.
ensure_wrk() {
    command -v wrk >/dev/null || apt_install wrk
}

# throwaway_stack PROFILE: a fresh stack for PROFILE (its .local/ wiped), stopped
# by pid when the calling script exits; its environment is exported.
throwaway_stack() {
    THROWAWAY_PROFILE=$1
    local stack="$ROOT/scripts/stack.sh"
    "$stack" --profile "$THROWAWAY_PROFILE" down >/dev/null 2>&1 || true
    rm -rf "${ROOT:?}/.local/$THROWAWAY_PROFILE"
    trap '"$ROOT/scripts/stack.sh" --profile "$THROWAWAY_PROFILE" down >&2 || true' EXIT
    "$stack" --profile "$THROWAWAY_PROFILE" up >&2
    eval "$("$stack" --profile "$THROWAWAY_PROFILE" env)"
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
    local port=$1 name=$2 tries=${3:-150}
    while ! port_open "$port"; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || die "$name did not open port $port (see its log under .local/)"
        sleep 0.1
    done
}

# proc_running PID: the process exists and is not a zombie (an exited child
# nobody reaped yet, e.g. a postmaster whose parent pg_ctl is gone).
proc_running() {
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# pid_alive PIDFILE MATCH: the pid in PIDFILE runs and its command line contains MATCH,
# so a recycled pid never passes for ours.
pid_alive() {
    local file=$1 match=$2 pid
    [ -f "$file" ] || return 1
    pid="$(head -n1 "$file" 2>/dev/null)"
    [ -n "$pid" ] && proc_running "$pid" || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$match"
}

# descendants PID: the pids of every process below PID (by parent pid).
descendants() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}

# stop_pid PIDFILE MATCH NAME [SIGNAL]: signal (TERM) the process we started;
# after STOP_SECONDS (15) KILL it and every process below it. (A supervisor
# TERMed waits for its child: a child that ignores TERM, a worker whose loop
# is stuck say, would otherwise outlive the KILLed supervisor as an orphan.)
stop_pid() {
    local file=$1 match=$2 name=$3 sig=${4:-TERM} pid i tree
    if pid_alive "$file" "$match"; then
        pid="$(head -n1 "$file")"
        say "stopping $name (pid $pid)"
        kill "-$sig" "$pid" 2>/dev/null || true
        for i in $(seq "$((${STOP_SECONDS:-15} * 10))"); do
            proc_running "$pid" || break
            sleep 0.1
        done
        if proc_running "$pid"; then
            tree="$(descendants "$pid")"
            say "$name did not stop: killing pid $pid${tree:+ and its processes $(echo $tree)}"
            # shellcheck disable=SC2086
            kill -KILL "$pid" $tree 2>/dev/null || true
        fi
    fi
    rm -f "$file"
}

# graphql-schema-linter (tools/schema-lint/, npm ci when missing or stale):
# `make lint` runs it, and a test in `make test` proves it catches a gap.
ensure_schema_linter() {
    local linter="$ROOT/tools/schema-lint"
    command -v npm >/dev/null || die "npm is needed for the schema linter: apt-get install -y npm"
    if [ ! -x "$linter/node_modules/.bin/graphql-schema-linter" ] \
        || [ "$linter/package-lock.json" -nt "$linter/node_modules/.package-lock.json" ]; then
        say "installing graphql-schema-linter (npm ci in tools/schema-lint)"
        (cd "$linter" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed"
    fi
}
