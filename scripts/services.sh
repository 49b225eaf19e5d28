#!/usr/bin/env bash
# Makes MariaDB (or MySQL) and Redis reachable for `npm run dev` and `npm test` (SPEC §11), then exports
# DATABASE_URL and REDIS_URL. dev.sh and test.sh `source` it; `npm run services` runs it alone and prints both.
# The work is split: services-common.sh (URLs, TCP checks, daemons, apt-get), services-mysql.sh, services-redis.sh.
#
# DATABASE_URL (default mysql://root@127.0.0.1:3306/fillpath) and REDIS_URL (default redis://127.0.0.1:6379) come
# from the environment, else from .env. For each:
#   answers (port open, then a real login or PING)  → used as is; MariaDB: the URL's database is created if missing
#   remote host, not answering                       → stops with one line
#   127.0.0.1/localhost/::1, installed but stopped   → started here, then waited for (FP_SERVICE_TIMEOUT, 30 s)
#   local and not installed, root with apt-get       → `apt-get update` once, `apt-get install -y <packages>`, started
#   local and not installed otherwise                → stops with one line saying what to do
# A local MariaDB that refuses the URL's login over TCP gets its grants changed (as OS root, through its socket: the
# URL's user may log in on loopback) only when this script owns it: installed or initialised by this run, or a
# private instance under FP_STATE_DIR; for any other server only with FP_FIX_DB_AUTH=1. Otherwise it stops with one
# line (set DATABASE_URL with working credentials, or rerun with FP_FIX_DB_AUTH=1).
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
_FP_SERVICES_DIR=$(dirname "$_FP_SERVICES_SELF")
# shellcheck source=scripts/lib.sh
source "$_FP_SERVICES_DIR/lib.sh"
# shellcheck source=scripts/services-common.sh
source "$_FP_SERVICES_DIR/services-common.sh"
# shellcheck source=scripts/services-mysql.sh
source "$_FP_SERVICES_DIR/services-mysql.sh"
# shellcheck source=scripts/services-redis.sh
source "$_FP_SERVICES_DIR/services-redis.sh"

FP_STATE_DIR=${FP_STATE_DIR:-$FP_ROOT/.tmp/services}
FP_SERVICE_TIMEOUT=${FP_SERVICE_TIMEOUT:-30}

fp_services() {
  local db_url redis_url db_state db_msg redis_state redis_msg redis_policy pkgs=() db_hp redis_hp db_name rc
  _svc_db_fresh='' # set when this run installs or initialises the MariaDB server (see _svc_mysql_fix_auth)
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
    [[ " ${pkgs[*]} " != *' mariadb-server '* ]] || _svc_db_fresh=installed
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
  if [[ $_svc_status == denied ]] && _svc_is_local "$_u_host"; then
    _svc_mysql_fix_auth "$_u_port" && rc=0 || rc=$?
    if [[ $rc -eq 2 ]]; then
      die "MariaDB at $db_hp refused the login of '${_u_user}' ($_svc_msg) and this script did not install or initialise it, so its grants are left alone: set DATABASE_URL with working credentials, or rerun with FP_FIX_DB_AUTH=1 to let '${_u_user}' log in on loopback"
    elif [[ $rc -eq 0 ]]; then
      _svc_mysql_probe "$db_url"
      [[ $_svc_status != ok ]] ||
        log "MariaDB at $db_hp refused '$_u_user' over TCP: let it log in on loopback as DATABASE_URL says (set through the server's socket as root)"
    fi
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
