#!/usr/bin/env bash
# Builds the web client (frontend-sample/) into frontend-sample/dist/:
# npm ci (when the lockfile changed), the operations check, GraphQL Code
# Generator, vite build, and GraphiQL's files into dist/graphiql/. Skipped
# when nothing it reads changed since the last build (a stamp of their hashes).
#
#   scripts/client.sh build       build when stale (make up, make test)
#   scripts/client.sh typecheck   codegen + tsc --noEmit (make lint)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CLIENT="$ROOT/frontend-sample"
MODULES="$CLIENT/node_modules"

# Node 18+ and npm: Debian's packages when missing (the machine's own are used when new enough).
ensure_node() {
    local major=0
    command -v node >/dev/null && major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
    if [ "$major" -lt 18 ] || ! command -v npm >/dev/null; then
        apt_install nodejs npm
    fi
}

ensure_modules() {
    local want
    want="$(sha256sum "$CLIENT/package-lock.json" | cut -d' ' -f1)"
    if [ ! -f "$MODULES/.installed" ] || [ "$(cat "$MODULES/.installed")" != "$want" ]; then
        say "installing the web client's npm packages (npm ci)"
        (cd "$CLIENT" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed"
        echo "$want" > "$MODULES/.installed"
    fi
}

# Everything the build reads, hashed: sources, configs, the lockfile, the schema.
sources_hash() {
    (
        cd "$ROOT"
        find frontend-sample -path frontend-sample/node_modules -prune -o \
            -path frontend-sample/dist -prune -o -path frontend-sample/src/gql -prune -o \
            -type f -print | LC_ALL=C sort | xargs sha256sum
        sha256sum schema.graphql
    ) | sha256sum | cut -d' ' -f1
}

build() {
    ensure_node
    exec 9>"$CLIENT/.build.lock"
    flock 9  # two stacks starting at once build once
    ensure_modules
    local want stamp="$MODULES/.built"
    want="$(sources_hash)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$CLIENT/dist/index.html" ] \
        && [ -f "$CLIENT/dist/graphiql/init.js" ]; then
        return 0
    fi
    say "building the web client (frontend-sample/dist)"
    (cd "$CLIENT" && npm run --silent build >&2) || die "web client build failed"
    echo "$want" > "$stamp"
}

typecheck() {
    ensure_node
    ensure_modules
    (cd "$CLIENT" && npm run --silent check-operations && npm run --silent codegen >/dev/null \
        && npm run --silent typecheck)
}

case "${1:-build}" in
    build) build ;;
    typecheck) typecheck ;;
    *) die "usage: scripts/client.sh build|typecheck" ;;
esac
