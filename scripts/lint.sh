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

ensure_schema_linter
LINTER="$ROOT/tools/schema-lint"
say "graphql-schema-linter schema.graphql"
(cd "$LINTER" && node_modules/.bin/graphql-schema-linter --format compact)
