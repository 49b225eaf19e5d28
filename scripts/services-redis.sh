# shellcheck shell=bash
# Redis for scripts/services.sh (which sources this after services-common.sh): probe a URL, start a private server.

# _svc_redis_probe URL: sets _svc_status (ok | down | denied | error), _svc_msg (version when ok) and _svc_policy.
# shellcheck disable=SC2154 # _u_* come from _svc_parse_url (services-common.sh)
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
