#!/usr/bin/env bash
# `make test`: a fresh throw-away stack (profile `test`, its own ports and
# .local/test/; stack.sh also builds the web client), the whole suite against
# it, and the stack stopped afterwards (by pid) whatever the outcome. The
# browser tests (tests/browser/) run in the parallel part, all on one worker
# (xdist group `browser`, one Chromium), beside the rest.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_chromium
ensure_wrk
ensure_schema_linter
throwaway_stack "${TEST_PROFILE:-test}"

cd "$ROOT"
say "running the suite (parallel part)"
"$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup -m "not serial" "$@"
say "running the suite (serial part: stops and moves servers' data)"
"$VENV/bin/python" -m pytest -m serial "$@"
