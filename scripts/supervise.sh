#!/usr/bin/env bash
# supervise.sh CHILD_PIDFILE CMD...: run CMD, and run it again whenever it exits
# (a crash, a kill by pid, or a deploy's graceful TERM to it), so an app
# instance or a worker is back without a manual step. The child's pid is kept
# in CHILD_PIDFILE (a deploy signals it there). TERM or INT to the supervisor
# stops the child gracefully, waits for it, and ends the supervisor.
set -u
pidfile=$1
shift
child=

stop() {
    trap - TERM INT
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null
        wait "$child" 2>/dev/null
    fi
    rm -f "$pidfile"
    exit 0
}
trap stop TERM INT

while :; do
    "$@" &
    child=$!
    echo "$child" > "$pidfile"
    started=$SECONDS
    wait "$child"
    status=$?
    echo "supervise: $(basename "$1") (pid $child) exited with status $status; starting it again" >&2
    # A child that dies at once (a broken deploy) is not restarted in a tight loop.
    if [ $((SECONDS - started)) -lt 2 ]; then sleep 1; fi
done
