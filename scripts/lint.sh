#!/usr/bin/env bash
# `make lint`: ruff, import-linter and mypy through pre-commit (hooks run from .venv,
# no network), then the web client's operations check and TypeScript type-check, then
# graphql-schema-linter on schema.graphql (tools/schema-lint/, installed with `npm ci`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_venv
cd "$ROOT"
"$VENV/bin/pre-commit" run --all-files
"$ROOT/scripts/client.sh" typecheck

LINTER="$ROOT/tools/schema-lint"
command -v npm >/dev/null || die "npm is needed for the schema linter: apt-get install -y npm"
if [ ! -x "$LINTER/node_modules/.bin/graphql-schema-linter" ] \
    || [ "$LINTER/package-lock.json" -nt "$LINTER/node_modules/.package-lock.json" ]; then
    say "installing graphql-schema-linter (npm ci in tools/schema-lint)"
    (cd "$LINTER" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed"
fi
say "graphql-schema-linter schema.graphql"
(cd "$LINTER" && node_modules/.bin/graphql-schema-linter --format compact)
