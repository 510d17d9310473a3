#!/usr/bin/env bash
# `make bench`: every benchmarks/*.py against a throw-away stack (profile
# `bench`, ports +200, .local/bench/), each printing one JSON object.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_wrk
throwaway_stack bench

cd "$ROOT"
for bench in benchmarks/*.py; do
    case "$(basename "$bench")" in __init__.py|common.py) continue ;; esac
    say "benchmark $bench"
    "$PY" "$bench" "$@"
done
