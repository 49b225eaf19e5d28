#!/usr/bin/env bash
# `npm run dev` (SPEC §11): dependencies and Node 24, MariaDB and Redis (scripts/services.sh), migrations, the demo
# seed (scripts/seed.ts, when present), then api + worker (+ the fake brokers, scripts/fake-brokers.ts, when present)
# under `node --watch`. Waits for /health/ready, prints where things are, and runs until Ctrl-C, which stops them all.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$FP_ROOT"

ensure_deps
ensure_node24
# shellcheck source=scripts/services.sh
source "$FP_ROOT/scripts/services.sh"

# An unset NODE_ENV means production (which demands real secrets), so a development checkout gets its own .env,
# made once from .env.example (NODE_ENV=development); every later command in this checkout then reads it too.
if [[ ! -f .env ]]; then
  cp .env.example .env
  log "created .env from .env.example (NODE_ENV=development, development-only secrets)"
fi
export NODE_ENV=${NODE_ENV:-development}
export LOG_PRETTY=${LOG_PRETTY:-true}
port=$(env_or_dotenv PORT 3000)
ready_timeout=${FP_READY_TIMEOUT:-60}
started_at=$(date +%s)

if _svc_port_open 127.0.0.1 "$port"; then
  die "something already listens on 127.0.0.1:$port (another npm run dev?): stop it, or set PORT in .env, and rerun"
fi

log "migrating (npm run db:migrate)"
npm run --silent db:migrate || die "migrations failed (output above): fix them and rerun npm run dev"
if [[ -f scripts/seed.ts ]]; then
  log "seeding the demo data (node scripts/seed.ts)"
  node scripts/seed.ts || die "the seed failed (output above): fix it and rerun npm run dev"
fi

# --- children -----------------------------------------------------------------------------------------------------
children=()

# kill_tree PID: the process and everything under it (node --watch runs the real process as its child).
kill_tree() {
  local pid=$1 child
  for child in $(pgrep -P "$pid" 2>/dev/null || true); do
    kill_tree "$child"
  done
  kill -TERM "$pid" 2>/dev/null || true
}

cleanup() {
  trap - EXIT INT TERM
  [[ ${#children[@]} -gt 0 ]] || return 0
  log "stopping api, worker and fakes"
  local pid
  for pid in "${children[@]}"; do
    kill_tree "$pid"
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -f scripts/fake-brokers.ts ]]; then
  node --watch scripts/fake-brokers.ts &
  children+=($!)
fi
node --watch server/api.ts &
children+=($!)
node --watch server/worker.ts &
children+=($!)

# --- ready? -------------------------------------------------------------------------------------------------------
# http_status URL: the HTTP status, or 000 when nothing answers (curl when installed, else Node 24's fetch).
http_status() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true
  else
    node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      .then((r) => console.log(r.status), () => console.log("000"))' "$1" 2>/dev/null || true
  fi
}
health="http://127.0.0.1:$port/health/ready"
deadline=$((SECONDS + ready_timeout))
until [[ $(http_status "$health") == 200 ]]; do
  [[ $SECONDS -lt $deadline ]] ||
    die "the api did not answer 200 on $health within $ready_timeout s (its log is above): fix it and rerun npm run dev"
  sleep 0.5
done

ok "Fillpath is running; Ctrl-C stops api, worker and fakes (MariaDB and Redis keep running)"
printf '\n  API:     http://localhost:%s/api/v1/trpc\n  Health:  %s\n' "$port" "$health"
demo="$FP_ROOT/.tmp/demo.txt" # written by scripts/seed.ts: login, webhook URL, a curl that places a demo trade
if [[ -f $demo && $(stat -c %Y "$demo") -ge $started_at ]]; then
  printf '\n'
  cat "$demo"
fi
printf '\n'

wait
