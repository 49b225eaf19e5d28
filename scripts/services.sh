#!/usr/bin/env bash
# Makes MariaDB (or MySQL) and Redis reachable for `npm run dev` and `npm test` (SPEC §11), then exports
# DATABASE_URL and REDIS_URL. dev.sh and test.sh `source` it; `npm run services` runs it alone and prints both.
#
# DATABASE_URL (default mysql://root@127.0.0.1:3306/fillpath) and REDIS_URL (default redis://127.0.0.1:6379) come
# from the environment, else from .env. For each:
#   answers (port open, then a real login or PING)  → used as is; MariaDB: the URL's database is created if missing
#   remote host, not answering                       → stops with one line
#   127.0.0.1/localhost/::1, installed but stopped   → started here, then waited for (FP_SERVICE_TIMEOUT, 30 s)
#   local and not installed, root with apt-get       → `apt-get update` once, `apt-get install -y <packages>`, started
#   local and not installed otherwise                → stops with one line saying what to do
# What gets started: as root, MariaDB on the port the system's my.cnf configures (3306) is the system server
# (/etc/mysql, /var/lib/mysql, initialised first if needed). Any other MariaDB port, MariaDB as a non-root user, and
# every Redis run as private instances under FP_STATE_DIR (default .tmp/services/<name>-<port>/: data, pid file, log).
# Redis gets AOF (everysec) and maxmemory-policy noeviction, which BullMQ needs. Started servers keep running after
# dev/test exit, like system services; stop a private one with `kill "$(cat .tmp/services/<name>-<port>/*.pid)"`.
# Checks need no mysql/redis command-line client: bash's /dev/tcp, then mysql2/ioredis from node_modules when
# installed, else the mariadb/mysql and redis-cli clients when present.

_FP_SERVICES_SELF=${BASH_SOURCE[0]}
if [[ $_FP_SERVICES_SELF == "$0" ]]; then
  set -euo pipefail
fi
# shellcheck source=scripts/lib.sh
source "$(dirname "$_FP_SERVICES_SELF")/lib.sh"

FP_STATE_DIR=${FP_STATE_DIR:-$FP_ROOT/.tmp/services}
FP_SERVICE_TIMEOUT=${FP_SERVICE_TIMEOUT:-30}

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
# MariaDB / MySQL

# _svc_mysql_probe URL: sets _svc_status (ok | down | denied | nodb | error) and _svc_msg (server version when ok).
_svc_mysql_probe() {
  local url=$1 out rc cli db
  _svc_parse_url "$url" 3306
  if ! _svc_port_open "$_u_host" "$_u_port"; then
    _svc_status=down _svc_msg='no TCP connection to the port'
    return 0
  fi
  if _svc_node_has mysql2; then
    # shellcheck disable=SC2016 # JavaScript, not shell
    out=$(cd "$FP_ROOT" && timeout 20 node -e '
      const u = new URL(process.argv[1]);
      const mysql = require("mysql2/promise");
      const fail = (code, e) => {
        console.log(String((e && e.code ? e.code + ": " : "") + ((e && e.message) || e)).replace(/\s+/g, " "));
        process.exit(code);
      };
      const DENIED = ["ER_ACCESS_DENIED_ERROR", "ER_ACCESS_DENIED_NO_PASSWORD_ERROR", "ER_NOT_SUPPORTED_AUTH_MODE",
        "ER_HOST_NOT_PRIVILEGED"];
      const DOWN = ["ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN",
        "PROTOCOL_CONNECTION_LOST", "ER_SERVER_SHUTDOWN", "ER_CON_COUNT_ERROR"];
      (async () => {
        let c;
        try {
          c = await mysql.createConnection({ host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || 3306),
            user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), connectTimeout: 5000 });
        } catch (e) {
          fail(DENIED.includes(e.code) ? 2 : DOWN.includes(e.code) ? 3 : 4, e);
        }
        const [[row]] = await c.query("SELECT VERSION() AS v");
        const db = decodeURIComponent(u.pathname.replace(/^\//, ""));
        if (db) {
          try {
            await c.query("CREATE DATABASE IF NOT EXISTS " + c.escapeId(db) + " CHARACTER SET utf8mb4");
          } catch (e) {
            try { await c.query("USE " + c.escapeId(db)); } catch { fail(5, e); }
          }
        }
        console.log(row.v);
        await c.end();
      })().catch((e) => fail(4, e));
    ' "$url" 2>&1) && rc=0 || rc=$?
  elif cli=$(_svc_find_bin mariadb mysql); then
    local args=(--no-defaults --protocol=TCP --connect-timeout=5 -h "$_u_host" -P "$_u_port" -N -B)
    [[ -n $_u_user ]] && args+=(-u "$_u_user")
    db=${_u_path%%/*}
    out=$(MYSQL_PWD=$_u_pass timeout 20 "$cli" "${args[@]}" -e 'SELECT VERSION()' 2>&1) && rc=0 || rc=$?
    if [[ $rc -eq 0 && -n $db ]]; then
      local version=$out
      out=$(MYSQL_PWD=$_u_pass timeout 20 "$cli" "${args[@]}" \
        -e "CREATE DATABASE IF NOT EXISTS \`${db//\`/\`\`}\` CHARACTER SET utf8mb4" 2>&1) ||
        out=$(MYSQL_PWD=$_u_pass timeout 20 "$cli" "${args[@]}" -D "$db" -e 'SELECT 1' 2>&1) || rc=5
      [[ $rc -eq 0 ]] && out=$version
    elif [[ $rc -ne 0 ]]; then
      case $out in
        *'ERROR 1045'* | *'ERROR 1698'* | *'ERROR 1251'* | *'ERROR 1130'*) rc=2 ;;
        *'ERROR 2002'* | *'ERROR 2003'* | *'ERROR 2013'* | *'ERROR 2006'* | *'ERROR 1040'*) rc=3 ;;
        *) rc=4 ;;
      esac
    fi
  else
    _svc_status=ok _svc_msg='(port open; no mysql2 or mariadb client to log in with yet)'
    return 0
  fi
  _svc_msg=$(printf '%s' "$out" | tr '\n' ' ' | sed 's/[[:space:]]*$//')
  case $rc in
    0) _svc_status=ok ;;
    2) _svc_status=denied ;;
    3) _svc_status=down ;;
    5) _svc_status=nodb ;;
    *) _svc_status=error ;;
  esac
}

# The system server's option (from `mariadbd --print-defaults`), or a default.
_svc_mysqld_opt() {
  local bin=$1 name=$2 default=$3 line value=''
  line=$("$bin" --print-defaults 2>/dev/null | tail -n 1 || true)
  local word
  for word in $line; do
    [[ $word == "--$name="* ]] && value=${word#*=}
  done
  echo "${value:-$default}"
}

# _svc_mysql_fix_auth PORT: a local server refused the URL's login over TCP. The usual cause on Debian is root
# authenticating only through unix_socket (and, with skip-name-resolve, no root@127.0.0.1 at all). As OS root, log in
# through the socket and let the URL's user log in over TCP on loopback. root keeps unix_socket and gets the empty
# password the default URL uses (only when the URL's password is empty); another user is created if missing (with
# the URL's password and all privileges: tests create a database per worker). Existing passwords are never changed.
_svc_mysql_fix_auth() {
  local port=$1 cli sock args version sql='' h u p
  [[ $EUID -eq 0 ]] || return 1
  cli=$(_svc_find_bin mariadb mysql) || return 1
  sock="$FP_STATE_DIR/mariadb-$port/mariadbd.sock"
  if [[ -S $sock ]]; then
    args=(--no-defaults -S "$sock" -uroot)
  else
    args=(-uroot) # the client's defaults name the system server's socket
  fi
  version=$(timeout 10 "$cli" "${args[@]}" -N -B -e 'SELECT VERSION()' 2>/dev/null) || return 1
  u=$(_svc_sql_str "$_u_user")
  p=$(_svc_sql_str "$_u_pass")
  if [[ $_u_user == root ]]; then
    [[ -z $_u_pass ]] || return 1
    if [[ $version == *MariaDB* ]]; then
      sql="ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');"
    else
      sql="ALTER USER root@localhost IDENTIFIED WITH caching_sha2_password BY '';"
    fi
    for h in 127.0.0.1 ::1; do
      sql+=" CREATE USER IF NOT EXISTS root@'$h' IDENTIFIED BY ''; GRANT ALL PRIVILEGES ON *.* TO root@'$h' WITH GRANT OPTION;"
    done
  else
    [[ -n $_u_user ]] || return 1
    for h in localhost 127.0.0.1 ::1; do
      sql+=" CREATE USER IF NOT EXISTS $u@'$h' IDENTIFIED BY $p; GRANT ALL PRIVILEGES ON *.* TO $u@'$h';"
    done
  fi
  timeout 10 "$cli" "${args[@]}" -e "$sql" >&2
}

_svc_mysql_start() {
  local bin=$1 host=$2 port=$3 sys_port
  sys_port=$(_svc_mysqld_opt "$bin" port 3306)
  if [[ $EUID -eq 0 && $port == "$sys_port" ]]; then
    _svc_mysql_start_system "$bin"
  else
    _svc_mysql_start_private "$bin" "$host" "$port"
  fi
}

# The system server, as this machine kind starts it (or through systemd where systemd runs).
_svc_mysql_start_system() {
  local bin=$1 datadir pidfile installdb
  _svc_log_hint="systemctl status mariadb, or the error log named in /etc/mysql"
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
    log "starting the system MariaDB: systemctl start mariadb"
    systemctl start mariadb 2>/dev/null || systemctl start mysql ||
      die "systemctl could not start MariaDB (systemctl status mariadb says why): fix it, or set DATABASE_URL to a reachable server, and rerun"
    return 0
  fi
  datadir=$(_svc_mysqld_opt "$bin" datadir /var/lib/mysql)
  pidfile=$(_svc_mysqld_opt "$bin" pid-file /run/mysqld/mysqld.pid)
  _svc_log_hint=$(_svc_mysqld_opt "$bin" log-error "$datadir/$(hostname).err")
  local rundir
  for rundir in "$(dirname "$pidfile")" /run/mysqld; do # normally made by systemd's RuntimeDirectory
    [[ -d $rundir ]] || install -d -o mysql -g mysql "$rundir"
  done
  if [[ ! -d $datadir/mysql ]]; then
    installdb=$(_svc_find_bin mariadb-install-db mysql_install_db) ||
      die "MariaDB's data directory $datadir is empty and mariadb-install-db is missing: reinstall mariadb-server and rerun"
    log "initialising the system MariaDB data directory $datadir"
    mkdir -p "$FP_STATE_DIR"
    "$installdb" --user=mysql --datadir="$datadir" --skip-test-db >"$FP_STATE_DIR/mariadb-install-db.log" 2>&1 ||
      die "mariadb-install-db failed for $datadir (see $FP_STATE_DIR/mariadb-install-db.log): fix it and rerun"
  fi
  log "starting the system MariaDB: start-stop-daemon --start --oknodo --background --exec $bin"
  _svc_start_daemon "$pidfile" "$bin" --user=mysql ||
    die "could not start $bin (see $_svc_log_hint): fix it, or set DATABASE_URL to a reachable server, and rerun"
}

# A private server: data, socket, pid file and log under FP_STATE_DIR/mariadb-PORT, root with an empty password.
_svc_mysql_start_private() {
  local bin=$1 host=$2 port=$3 dir installdb sock runas=() bind
  dir="$FP_STATE_DIR/mariadb-$port"
  mkdir -p "$dir/data" 2>/dev/null || die "cannot create $dir for MariaDB's data: set FP_STATE_DIR to a writable directory and rerun"
  if [[ $EUID -eq 0 ]]; then
    runas=(--user=root)
    if id mysql >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1; then
      chown -R mysql:mysql "$dir"
      if runuser -u mysql -- test -w "$dir/data"; then runas=(--user=mysql); else chown -R root:root "$dir"; fi
    fi
  fi
  sock="$dir/mariadbd.sock"
  [[ ${#sock} -le 100 ]] || sock="${TMPDIR:-/tmp}/fillpath-mariadb-$port.sock"
  _svc_log_hint="$dir/mariadbd.err"
  if [[ ! -d $dir/data/mysql ]]; then
    installdb=$(_svc_find_bin mariadb-install-db mysql_install_db) ||
      die "mariadb-install-db is missing (it comes with mariadb-server): install mariadb-server, or set DATABASE_URL to a reachable server, and rerun"
    log "initialising a MariaDB data directory in $dir/data"
    "$installdb" --no-defaults "${runas[@]}" --datadir="$dir/data" --skip-test-db \
      --auth-root-authentication-method=normal >"$dir/install.log" 2>&1 ||
      die "mariadb-install-db failed (see $dir/install.log): fix it, or set DATABASE_URL to a reachable server, and rerun"
  fi
  bind=$(_svc_bind_addr "$host")
  log "starting MariaDB on $(_svc_hostport "$bind" "$port") with data in $dir"
  _svc_start_daemon "$dir/mariadbd.pid" "$bin" --no-defaults "${runas[@]}" --datadir="$dir/data" \
    --port="$port" --bind-address="$bind" --socket="$sock" --pid-file="$dir/mariadbd.pid" \
    --log-error="$dir/mariadbd.err" --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci ||
    die "could not start $bin (see $dir/mariadbd.err): fix it, or set DATABASE_URL to a reachable server, and rerun"
}

# ---------------------------------------------------------------------------------------------------------------
# Redis

# _svc_redis_probe URL: sets _svc_status (ok | down | denied | error), _svc_msg (version when ok) and _svc_policy.
_svc_redis_probe() {
  local url=$1 out rc cli
  _svc_policy=''
  _svc_parse_url "$url" 6379
  if ! _svc_port_open "$_u_host" "$_u_port"; then
    _svc_status=down _svc_msg='no TCP connection to the port'
    return 0
  fi
  if _svc_node_has ioredis; then
    # shellcheck disable=SC2016 # JavaScript, not shell
    out=$(cd "$FP_ROOT" && timeout 20 node -e '
      const Redis = require("ioredis");
      const r = new Redis(process.argv[1], { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0,
        retryStrategy: () => null, enableOfflineQueue: false });
      let lastError; // ioredis reports the real cause (WRONGPASS, ECONNREFUSED) as an event, then "Connection is closed"
      r.on("error", (e) => { lastError = e; });
      const fail = (e) => {
        const m = String((lastError && lastError.message) || (e && e.message) || e).replace(/\s+/g, " ");
        console.log(m);
        r.disconnect();
        process.exit(/NOAUTH|WRONGPASS|invalid password|invalid username/i.test(m) ? 2
          : /ECONNREFUSED|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|LOADING|Connection is closed/i.test(m) ? 3 : 4);
      };
      (async () => {
        await r.connect();
        if ((await r.ping()) !== "PONG") throw new Error("PING did not answer PONG");
        let policy = "";
        try { policy = (await r.config("GET", "maxmemory-policy"))[1] || ""; } catch {}
        const info = await r.info("server").catch(() => "");
        console.log(((/redis_version:(\S+)/.exec(info) || [])[1] || "?") + " " + policy);
        r.disconnect();
      })().catch(fail);
    ' "$url" 2>&1) && rc=0 || rc=$?
  elif cli=$(_svc_find_bin redis-cli); then
    # Not `-u URL`: redis-cli 7.0 does not percent-decode it. The password goes through REDISCLI_AUTH, not argv.
    local args=(-h "$_u_host" -p "$_u_port")
    [[ -z $_u_user ]] || args+=(--user "$_u_user")
    [[ $_u_scheme != rediss ]] || args+=(--tls)
    local run=(env)
    [[ -z $_u_pass ]] || run+=("REDISCLI_AUTH=$_u_pass")
    run+=(timeout 10 "$cli" "${args[@]}")
    out=$("${run[@]}" ping 2>&1) && rc=0 || rc=$?
    if [[ $out == PONG ]]; then
      rc=0
      _svc_policy=$("${run[@]}" config get maxmemory-policy 2>/dev/null | sed -n 2p || true)
      out="$("${run[@]}" info server 2>/dev/null |
        sed -n 's/^redis_version:\([^[:space:]]*\).*/\1/p' || true) $_svc_policy"
    else
      case $out in
        *NOAUTH* | *WRONGPASS* | *AUTH*) rc=2 ;;
        *LOADING* | *'Could not connect'* | *refused*) rc=3 ;;
        *) rc=4 ;;
      esac
    fi
  else
    _svc_status=ok _svc_msg='(port open; no ioredis or redis-cli to PING with yet)'
    return 0
  fi
  _svc_msg=$(printf '%s' "$out" | tr '\n' ' ' | sed 's/[[:space:]]*$//')
  case $rc in
    0)
      _svc_status=ok
      _svc_policy=${_svc_msg#* }
      [[ $_svc_policy == "$_svc_msg" ]] && _svc_policy=''
      _svc_msg=${_svc_msg%% *}
      ;;
    2) _svc_status=denied ;;
    3) _svc_status=down ;;
    *) _svc_status=error ;;
  esac
}

# A private Redis under FP_STATE_DIR/redis-PORT: AOF every second and noeviction, as BullMQ needs.
_svc_redis_start() {
  local bin=$1 host=$2 port=$3 pass=$4 dir bind args
  dir="$FP_STATE_DIR/redis-$port"
  mkdir -p "$dir" 2>/dev/null || die "cannot create $dir for Redis's data: set FP_STATE_DIR to a writable directory and rerun"
  _svc_log_hint="$dir/redis.log"
  bind=$(_svc_bind_addr "$host")
  args=(--daemonize yes --bind "$bind" --port "$port" --appendonly yes --appendfsync everysec
    --maxmemory-policy noeviction --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid")
  [[ -z $pass ]] || args+=(--requirepass "$pass")
  log "starting Redis on $(_svc_hostport "$bind" "$port") with data in $dir"
  "$bin" "${args[@]}" >&2 ||
    die "redis-server did not start (see $dir/redis.log): fix it, or set REDIS_URL to a reachable server, and rerun"
}

# ---------------------------------------------------------------------------------------------------------------
# Waiting, installing, and the two services

# _svc_wait NAME PROBE URL VAR: poll until the server answers (any status but down), bounded by FP_SERVICE_TIMEOUT.
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

fp_services() {
  local db_url redis_url db_state db_msg redis_state redis_msg redis_policy pkgs=() db_hp redis_hp db_name
  db_url=$(env_or_dotenv DATABASE_URL 'mysql://root@127.0.0.1:3306/fillpath')
  redis_url=$(env_or_dotenv REDIS_URL 'redis://127.0.0.1:6379')
  if [[ $db_url != mysql://* ]] || ! _svc_parse_url "$db_url" 3306; then
    die "DATABASE_URL must look like mysql://user:password@host:port/database (got $(_svc_redact "$db_url")): fix it and rerun"
  fi
  db_hp=$(_svc_hostport "$_u_host" "$_u_port")
  if [[ ! $redis_url =~ ^rediss?:// ]] || ! _svc_parse_url "$redis_url" 6379; then
    die "REDIS_URL must look like redis://[:password@]host:port (got $(_svc_redact "$redis_url")): fix it and rerun"
  fi
  redis_hp=$(_svc_hostport "$_u_host" "$_u_port")

  # 1. What answers already; what is missing and would need installing.
  _svc_mysql_probe "$db_url"
  db_state=$_svc_status db_msg=$_svc_msg
  if [[ $db_state == down ]] && _svc_is_local "$_u_host" && ! _svc_find_bin mariadbd mysqld >/dev/null; then
    pkgs+=(mariadb-server)
  fi
  _svc_redis_probe "$redis_url"
  redis_state=$_svc_status redis_msg=$_svc_msg redis_policy=$_svc_policy
  if [[ $redis_state == down ]] && _svc_is_local "$_u_host" && ! _svc_find_bin redis-server >/dev/null; then
    pkgs+=(redis-server)
  fi

  # 2. Install what is missing, when allowed to.
  if [[ ${#pkgs[@]} -gt 0 ]]; then
    if [[ $EUID -ne 0 || -z $(_svc_find_bin apt-get) ]]; then
      [[ " ${pkgs[*]} " == *' mariadb-server '* ]] && die "$(_svc_missing_line MariaDB "$db_hp" mariadb-server DATABASE_URL)"
      die "$(_svc_missing_line Redis "$redis_hp" redis-server REDIS_URL)"
    fi
    _svc_install "${pkgs[@]}"
    hash -r
    # A package may have started its server (where systemd runs): look again.
    _svc_mysql_probe "$db_url"
    db_state=$_svc_status db_msg=$_svc_msg
    _svc_redis_probe "$redis_url"
    redis_state=$_svc_status redis_msg=$_svc_msg redis_policy=$_svc_policy
  fi

  # 3. MariaDB: start it when local and down; let the URL's user in when a local server refuses it.
  _svc_parse_url "$db_url" 3306
  _svc_status=$db_state _svc_msg=$db_msg
  if [[ $_svc_status == down ]]; then
    _svc_is_local "$_u_host" ||
      die "MariaDB is not reachable at $db_hp ($_svc_msg): start it, or set DATABASE_URL to a reachable server, and rerun"
    db_bin=$(_svc_find_bin mariadbd mysqld) || die "$(_svc_missing_line MariaDB "$db_hp" mariadb-server DATABASE_URL)"
    _svc_mysql_start "$db_bin" "$_u_host" "$_u_port"
    _svc_wait MariaDB _svc_mysql_probe "$db_url" DATABASE_URL
  fi
  if [[ $_svc_status == denied ]] && _svc_is_local "$_u_host" && _svc_mysql_fix_auth "$_u_port"; then
    _svc_mysql_probe "$db_url"
    [[ $_svc_status != ok ]] ||
      log "MariaDB at $db_hp refused '$_u_user' over TCP: let it log in on loopback as DATABASE_URL says (set through the server's socket as root)"
  fi
  db_name=${_u_path%%/*}
  case $_svc_status in
    ok) ok "MariaDB ${_svc_msg} ready at $db_hp${db_name:+ (database $db_name)}" ;;
    denied) die "MariaDB at $db_hp refused the login of '${_u_user}' ($_svc_msg): fix the user or password in DATABASE_URL (or the server's grants) and rerun" ;;
    nodb) die "MariaDB at $db_hp: cannot create or use database '$db_name' ($_svc_msg): grant '${_u_user}' access to it, or change DATABASE_URL, and rerun" ;;
    *) die "something answers at $db_hp but the MySQL login failed ($_svc_msg): check DATABASE_URL and rerun" ;;
  esac

  # 4. Redis: start it when local and down.
  _svc_parse_url "$redis_url" 6379
  _svc_status=$redis_state _svc_msg=$redis_msg _svc_policy=$redis_policy
  if [[ $_svc_status == down ]]; then
    _svc_is_local "$_u_host" ||
      die "Redis is not reachable at $redis_hp ($_svc_msg): start it, or set REDIS_URL to a reachable server, and rerun"
    redis_bin=$(_svc_find_bin redis-server) || die "$(_svc_missing_line Redis "$redis_hp" redis-server REDIS_URL)"
    _svc_redis_start "$redis_bin" "$_u_host" "$_u_port" "$_u_pass"
    _svc_wait Redis _svc_redis_probe "$redis_url" REDIS_URL
  fi
  case $_svc_status in
    ok) ok "Redis ${_svc_msg} ready at $redis_hp" ;;
    denied) die "Redis at $redis_hp refused the login ($_svc_msg): fix the password in REDIS_URL and rerun" ;;
    *) die "something answers at $redis_hp but a Redis PING failed ($_svc_msg): check REDIS_URL and rerun" ;;
  esac
  if [[ -n $_svc_policy && $_svc_policy != noeviction ]]; then
    warn "Redis at $redis_hp has maxmemory-policy $_svc_policy; BullMQ needs noeviction (redis-cli config set maxmemory-policy noeviction) — continuing"
  fi

  export DATABASE_URL=$db_url REDIS_URL=$redis_url
}

fp_services

if [[ $_FP_SERVICES_SELF == "$0" ]]; then
  printf 'DATABASE_URL=%s\nREDIS_URL=%s\n' "$DATABASE_URL" "$REDIS_URL"
fi
