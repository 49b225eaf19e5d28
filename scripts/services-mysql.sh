# shellcheck shell=bash
# MariaDB / MySQL for scripts/services.sh (which sources this after services-common.sh): probe a URL, start the
# system server or a private one, and let the URL's user in on a server this script owns (_svc_mysql_fix_auth).

# _svc_mysql_probe URL: sets _svc_status (ok | down | denied | nodb | error) and _svc_msg (server version when ok).
# shellcheck disable=SC2154 # _u_* come from _svc_parse_url (services-common.sh)
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

# _svc_mysql_private_sock PORT: the socket of the private server on PORT (a unix socket path has ~107 bytes at most).
_svc_mysql_private_sock() {
  local sock="$FP_STATE_DIR/mariadb-$1/mariadbd.sock"
  [[ ${#sock} -le 100 ]] || sock="${TMPDIR:-/tmp}/fillpath-mariadb-$1.sock"
  echo "$sock"
}

# _svc_mysql_fix_auth PORT: a local server refused the URL's login over TCP. The usual cause on Debian is root
# authenticating only through unix_socket (and, with skip-name-resolve, no root@127.0.0.1 at all). As OS root, log in
# through the socket and let the URL's user log in over TCP on loopback. root keeps unix_socket and gets the empty
# password the default URL uses (only when the URL's password is empty); another user is created if missing (with
# the URL's password and all privileges: tests create a database per worker). Existing passwords are never changed.
# Grants are only changed on a server this script owns (installed or initialised by this run, _svc_db_fresh, or a
# private instance under FP_STATE_DIR) or with FP_FIX_DB_AUTH=1: a shared system server is someone else's to
# configure. Returns 0 when changed, 1 when it cannot help, 2 when it could but is not allowed to.
_svc_mysql_fix_auth() {
  local port=$1 cli sock args version sql='' h u p owned='' bin
  [[ $EUID -eq 0 ]] || return 1
  cli=$(_svc_find_bin mariadb mysql) || return 1
  sock=$(_svc_mysql_private_sock "$port")
  if [[ -S $sock ]]; then
    args=(--no-defaults -S "$sock" -uroot)
    owned=private
  else
    # The client's defaults name the system server's socket: only right when the URL's port is that server's.
    bin=$(_svc_find_bin mariadbd mysqld) || return 1
    [[ $port == "$(_svc_mysqld_opt "$bin" port 3306)" ]] || return 1
    args=(-uroot)
  fi
  version=$(timeout 10 "$cli" "${args[@]}" -N -B -e 'SELECT VERSION()' 2>/dev/null) || return 1
  # root keeps any password it has, so a URL with one for root cannot be made to work here.
  [[ -n $_u_user && ($_u_user != root || -z $_u_pass) ]] || return 1
  [[ -n $owned$_svc_db_fresh || ${FP_FIX_DB_AUTH:-} == 1 ]] || return 2
  u=$(_svc_sql_str "$_u_user")
  p=$(_svc_sql_str "$_u_pass")
  if [[ $_u_user == root ]]; then
    if [[ $version == *MariaDB* ]]; then
      sql="ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');"
    else
      sql="ALTER USER root@localhost IDENTIFIED WITH caching_sha2_password BY '';"
    fi
    for h in 127.0.0.1 ::1; do
      sql+=" CREATE USER IF NOT EXISTS root@'$h' IDENTIFIED BY ''; GRANT ALL PRIVILEGES ON *.* TO root@'$h' WITH GRANT OPTION;"
    done
  else
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
    _svc_db_fresh=initialised
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
  sock=$(_svc_mysql_private_sock "$port")
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
