#!/usr/bin/env bash
# `make bench`: every benchmarks/*.py against a throw-away stack (profile
# `bench`, ports +200, .local/bench/), each printing one JSON object.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
STACK="$ROOT/scripts/stack.sh"

"$STACK" --profile bench down >/dev/null 2>&1 || true
rm -rf "$ROOT/.local/bench"
cleanup() { "$STACK" --profile bench down >&2 || true; }
trap cleanup EXIT
"$STACK" --profile bench up >&2
eval "$("$STACK" --profile bench env)"
cd "$ROOT"
for bench in benchmarks/*.py; do
    case "$(basename "$bench")" in __init__.py|common.py) continue ;; esac
    say "benchmark $bench"
    "$PY" "$bench" "$@"
done
