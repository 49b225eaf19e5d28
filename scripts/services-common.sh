# shellcheck shell=bash
# Helpers of scripts/services.sh (which sources this after lib.sh; nothing here runs on its own): URL parsing, local
# hosts, TCP checks, finding server binaries, starting daemons, waiting for a server, apt-get installs.

# ---------------------------------------------------------------------------------------------------------------
# URLs and hosts

_svc_urldecode() {
  local s=${1//\\/\\\\}
  printf '%b' "${s//%/\\x}"
}

# _svc_parse_url URL DEFAULT_PORT: sets _u_scheme _u_user _u_pass _u_host _u_port _u_path (decoded).
_svc_parse_url() {
  local url=$1 rest hostport auth
  [[ $url == *://* ]] || return 1
  _u_scheme=${url%%://*}
  rest=${url#*://}
  rest=${rest%%[?#]*}
  hostport=${rest%%/*}
  _u_path=''
  [[ $rest == */* ]] && _u_path=${rest#*/}
  _u_user='' _u_pass=''
  if [[ $hostport == *@* ]]; then
    auth=${hostport%@*}
    hostport=${hostport##*@}
    _u_user=${auth%%:*}
    [[ $auth == *:* ]] && _u_pass=${auth#*:}
  fi
  if [[ $hostport == \[* ]]; then
    _u_host=${hostport%%]*}
    _u_host=${_u_host#[}
    _u_port=${hostport#*]}
    _u_port=${_u_port#:}
  else
    _u_host=${hostport%%:*}
    _u_port=''
    [[ $hostport == *:* ]] && _u_port=${hostport##*:}
  fi
  _u_port=${_u_port:-$2}
  [[ -n $_u_host && $_u_port =~ ^[0-9]+$ ]] || return 1
  _u_user=$(_svc_urldecode "$_u_user")
  _u_pass=$(_svc_urldecode "$_u_pass")
  _u_path=$(_svc_urldecode "$_u_path")
}

_svc_is_local() { [[ $1 == 127.0.0.1 || $1 == localhost || $1 == ::1 ]]; }

_svc_bind_addr() { if [[ $1 == ::1 ]]; then echo '::1'; else echo '127.0.0.1'; fi; }

_svc_hostport() { if [[ $1 == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi; }

# _svc_port_open HOST PORT: a TCP connect with bash's /dev/tcp, bounded to 2 s.
_svc_port_open() {
  # shellcheck disable=SC2016 # $0/$1 belong to the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" >/dev/null 2>&1
}

_svc_node_has() { [[ -d "$FP_ROOT/node_modules/$1" ]] && command -v node >/dev/null 2>&1; }

_svc_find_bin() {
  local name
  local path
  for name in "$@"; do
    # `command -v` can name a file that is not executable (bash falls back to it), hence the -f/-x test.
    for path in "$(command -v "$name" 2>/dev/null || true)" /usr/sbin/"$name" /usr/local/sbin/"$name" /usr/libexec/"$name" /sbin/"$name"; do
      if [[ $path == /* && -f $path && -x $path ]]; then
        echo "$path"
        return 0
      fi
    done
  done
  return 1
}

_svc_sql_str() {
  local s=${1//\\/\\\\}
  printf "'%s'" "${s//\'/\'\'}"
}

# _svc_start_daemon PIDFILE BIN ARGS...: start-stop-daemon when present (how this machine kind starts services),
# else setsid. The pid file scopes start-stop-daemon's "already running" check to this one server.
_svc_start_daemon() {
  local pidfile=$1 bin=$2 ssd
  shift 2
  if ssd=$(_svc_find_bin start-stop-daemon); then
    "$ssd" --start --oknodo --background --pidfile "$pidfile" --exec "$bin" -- "$@"
  else
    setsid -f "$bin" "$@" </dev/null >/dev/null 2>&1
  fi
}

# ---------------------------------------------------------------------------------------------------------------
# Waiting, installing, and the two services

# _svc_wait NAME PROBE URL VAR: poll until the server answers (any status but down), bounded by FP_SERVICE_TIMEOUT.
# shellcheck disable=SC2154 # _svc_status comes from the probe
_svc_wait() {
  local name=$1 probe=$2 url=$3 var=$4 deadline=$((SECONDS + FP_SERVICE_TIMEOUT))
  while :; do
    "$probe" "$url"
    [[ $_svc_status == down ]] || return 0
    [[ $SECONDS -lt $deadline ]] || break
    sleep 0.5
  done
  if [[ -f ${_svc_log_hint:-} ]]; then
    tail -n 5 "$_svc_log_hint" | sed 's/^/    /' >&2
  fi
  die "$name did not answer on $(_svc_hostport "$_u_host" "$_u_port") within ${FP_SERVICE_TIMEOUT} s of starting it (log: ${_svc_log_hint:-none}): fix the cause shown there, or set $var to a reachable server, and rerun"
}

# _svc_install PACKAGE...: as root with apt-get only; `apt-get update` runs once per shell.
_svc_install() {
  log "installing $* from the OS packages (apt-get)"
  if [[ -z ${_FP_APT_UPDATED:-} ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed (output above): fix the package sources and rerun"
    _FP_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 ||
    die "apt-get install -y $* failed (output above): install them by hand, or set DATABASE_URL/REDIS_URL to reachable servers, and rerun"
}

_svc_missing_line() { # NAME HOSTPORT PACKAGE VAR
  echo "$1 is not reachable at $2 and not installed: install $3 (e.g. sudo apt-get install -y $3), or set $4 to a reachable server, and rerun"
}

_svc_redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }
