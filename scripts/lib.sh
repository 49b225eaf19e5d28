# shellcheck shell=bash
# Shared helpers for scripts/*.sh (dev.sh, test.sh, services.sh). Source it; it only defines things:
#   FP_ROOT                   the repository root (absolute)
#   log / ok / warn / die     one line each on stderr, coloured when stderr is a terminal (NO_COLOR turns it off)
#   env_or_dotenv KEY DEFAULT the environment's value, else .env's (as server/lib/env.ts reads it), else DEFAULT
#   ensure_deps               `npm install --no-save` when node_modules is missing or does not match package-lock.json
#   ensure_node24             node_modules/.bin first on PATH, and `node -v` must be the .nvmrc major (24)

[[ -n "${_FP_LIB_LOADED:-}" ]] && return 0
_FP_LIB_LOADED=1

FP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ -t 2 && -z "${NO_COLOR:-}" ]]; then
  _FP_DIM=$'\e[2m' _FP_BLUE=$'\e[34m' _FP_GREEN=$'\e[32m' _FP_YELLOW=$'\e[33m' _FP_RED=$'\e[1;31m' _FP_OFF=$'\e[0m'
else
  _FP_DIM='' _FP_BLUE='' _FP_GREEN='' _FP_YELLOW='' _FP_RED='' _FP_OFF=''
fi

log() { printf '%s[fillpath]%s %s%s%s\n' "$_FP_DIM" "$_FP_OFF" "$_FP_BLUE" "$*" "$_FP_OFF" >&2; }
ok() { printf '%s[fillpath]%s %s%s%s\n' "$_FP_DIM" "$_FP_OFF" "$_FP_GREEN" "$*" "$_FP_OFF" >&2; }
warn() { printf '%s[fillpath]%s %swarning: %s%s\n' "$_FP_DIM" "$_FP_OFF" "$_FP_YELLOW" "$*" "$_FP_OFF" >&2; }
die() {
  printf '%s[fillpath]%s %serror: %s%s\n' "$_FP_DIM" "$_FP_OFF" "$_FP_RED" "$*" "$_FP_OFF" >&2
  exit 1
}

# dotenv_get KEY: the last `KEY=value` of $FP_ROOT/.env, read as the dotenv package does (quotes removed; an unquoted
# value ends at `#`).
dotenv_get() {
  local key=$1 file="$FP_ROOT/.env" line value='' found=1
  [[ -f $file ]] || return 1
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    if [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?${key}[[:space:]]*=[[:space:]]*(.*)$ ]]; then
      value=${BASH_REMATCH[2]}
      if [[ $value =~ ^\"(.*)\"[[:space:]]*(#.*)?$ || $value =~ ^\'(.*)\'[[:space:]]*(#.*)?$ ]]; then
        value=${BASH_REMATCH[1]}
      else
        value=${value%%#*}
        value=${value%"${value##*[![:space:]]}"}
      fi
      found=0
    fi
  done <"$file"
  [[ $found -eq 0 ]] || return 1
  printf '%s' "$value"
}

# env_or_dotenv KEY DEFAULT: like server/lib/env.ts, the real environment wins over .env and an empty value is unset.
env_or_dotenv() {
  local key=$1 default=$2 value=${!1:-}
  [[ -n $value ]] || value=$(dotenv_get "$key" || true)
  printf '%s' "${value:-$default}"
}

# use_local_bin: put node_modules/.bin first on PATH (npm scripts already do; direct `bash scripts/x.sh` does not).
use_local_bin() {
  local bin="$FP_ROOT/node_modules/.bin"
  [[ ":$PATH:" == ":$bin:"* ]] || PATH="$bin:$PATH"
  export PATH
  hash -r
}

# deps_stale_reason: prints why node_modules does not match package-lock.json, or nothing when it does.
# npm keeps what it installed in node_modules/.package-lock.json: every entry there must equal package-lock.json's,
# and every package-lock.json entry must be installed unless it is optional (other platforms' binaries are skipped).
deps_stale_reason() {
  local lock="$FP_ROOT/package-lock.json" hidden="$FP_ROOT/node_modules/.package-lock.json"
  [[ -f $lock ]] || die "package-lock.json is missing in $FP_ROOT: restore it (git checkout package-lock.json) and rerun"
  if [[ ! -d "$FP_ROOT/node_modules" ]]; then
    echo 'node_modules is missing'
    return 0
  fi
  if [[ ! -f $hidden ]]; then
    echo 'node_modules/.package-lock.json is missing'
    return 0
  fi
  command -v node >/dev/null 2>&1 || die "node is not installed: install Node.js and npm (any version; the project brings Node 24 itself) and rerun"
  node -e '
    const fs = require("fs");
    const read = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
    const canon = (v) => Array.isArray(v) ? "[" + v.map(canon).join(",") + "]"
      : v && typeof v === "object" ? "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + canon(v[k])).join(",") + "}"
      : JSON.stringify(v);
    let lock, hidden;
    try { lock = read(process.argv[1]).packages || {}; hidden = read(process.argv[2]).packages || {}; }
    catch (e) { console.log("cannot read the lockfiles (" + e.message + ")"); process.exit(0); }
    const name = (k) => k.replace(/^(.*\/)?node_modules\//, "");
    for (const k of Object.keys(hidden)) {
      if (!(k in lock)) { console.log(name(k) + " is installed but not in package-lock.json"); process.exit(0); }
      if (canon(lock[k]) !== canon(hidden[k])) { console.log(name(k) + " differs from package-lock.json"); process.exit(0); }
    }
    for (const k of Object.keys(lock)) {
      if (k === "" || k in hidden || lock[k].optional || lock[k].devOptional) continue;
      console.log(name(k) + " from package-lock.json is not installed"); process.exit(0);
    }
  ' "$lock" "$hidden"
}

# ensure_deps: install dependencies (which bring Node 24) when node_modules is missing or stale.
# `npm install --no-save` installs exactly what package-lock.json pins and writes nothing. Not `npm ci`: it refuses
# (EUSAGE, "Missing: <pkg>@ from lock file") a lockfile that lacks optional packages of other platforms that the
# registry does not serve (@biomejs/cli-* for other platforms answer 404 here).
ensure_deps() {
  local reason
  reason=$(deps_stale_reason)
  [[ -n $reason ]] || return 0
  command -v npm >/dev/null 2>&1 ||
    die "npm is not installed: install Node.js and npm (any version; the project brings Node 24 itself) and rerun"
  log "installing dependencies ($reason): npm install --no-save"
  (cd "$FP_ROOT" && npm install --no-audit --no-fund --no-save --loglevel=error) >&2 ||
    die "installing dependencies failed (npm output above): fix the cause (network, disk, package-lock.json) and rerun"
  hash -r
}

# ensure_node24: the node that npm scripts and this script run must be the project's Node 24.
ensure_node24() {
  local want version where
  want=$(tr -dc '0-9.' <"$FP_ROOT/.nvmrc" 2>/dev/null || true)
  want=${want%%.*}
  want=${want:-24}
  use_local_bin
  version=$(node -v 2>/dev/null || true)
  where=$(command -v node 2>/dev/null || echo 'not found')
  [[ $version == "v$want."* ]] ||
    die "Node $want is required but node on PATH is ${version:-missing} ($where): delete $FP_ROOT/node_modules and rerun, so that the node devDependency brings Node $want"
}
