#!/usr/bin/env bash
# `npm test` (SPEC §11): dependencies and Node 24, MariaDB and Redis (scripts/services.sh), then typecheck, lint
# (Biome), the deployment files (scripts/lint-deploy.ts) and the whole vitest suite. Extra arguments go to vitest:
# `npm test -- tests/unit`. The last thing printed is vitest's summary; the exit code is vitest's, or 1 at the first
# step that fails.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$FP_ROOT"

ensure_deps
ensure_node24
# shellcheck source=scripts/services.sh
source "$FP_ROOT/scripts/services.sh"

log "typecheck (tsc)"
npm run --silent typecheck || die "typecheck failed (errors above): fix them and rerun npm test"
log "lint (biome check)"
npm run --silent lint || die "lint failed (findings above; npm run format fixes the formatting ones): fix them and rerun npm test"
log "lint deployment files (Dockerfile, docker-compose.yml, README variables)"
npm run --silent lint:deploy || die "deployment lint failed (problems above): fix them and rerun npm test"
log "vitest run $*"
exec npx vitest run "$@"
