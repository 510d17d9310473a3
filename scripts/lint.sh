#!/usr/bin/env bash
# `make lint`: ruff, import-linter and mypy through pre-commit (hooks run from .venv,
# no network), then the web client's operations check and TypeScript type-check.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_venv
cd "$ROOT"
"$VENV/bin/pre-commit" run --all-files
"$ROOT/scripts/client.sh" typecheck
