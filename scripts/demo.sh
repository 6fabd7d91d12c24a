#!/usr/bin/env bash
# The demo: installs what is missing, builds tocsin, starts a throwaway PostgreSQL 15 and Redis on
# loopback (free ports, a temp dir, some pgbench and redis-benchmark load), then runs tocsin with
# the bundled config and rules until Ctrl-C. Everything it started is stopped and removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/install-deps.sh
TOCSIN_TARGET=tocsin scripts/build.sh

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

work=$(mktemp -d /tmp/tocsin-demo.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  echo; echo "demo: stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -d "$work/pg" ] && as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

pgport=$(free_port)
redisport=$(free_port)
pgbin=/usr/lib/postgresql/15/bin
[ "$(id -u)" -eq 0 ] && chown postgres "$work"
as_pg mkdir -p "$work/pg"
as_pg "$pgbin/initdb" -D "$work/pg" -U postgres --auth=trust >/dev/null
as_pg "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
  -o "-p $pgport -k $work -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements -c fsync=off" \
  start >/dev/null
psql -h 127.0.0.1 -p "$pgport" -U postgres -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" postgres
pgbench -h 127.0.0.1 -p "$pgport" -U postgres -i -q postgres >/dev/null 2>&1
pgbench -h 127.0.0.1 -p "$pgport" -U postgres -c 2 -R 20 -T 3600 postgres >/dev/null 2>&1 &
pids+=($!)

redis-server --port "$redisport" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redisport" ping >/dev/null 2>&1 && break; sleep 0.1; done
(while sleep 1; do redis-benchmark -p "$redisport" -q -n 2000 -c 2 -t get,set,lpush >/dev/null 2>&1; done) &
pids+=($!)

export PGHOST=127.0.0.1 PGPORT=$pgport PGUSER=postgres PGDATABASE=postgres
export TOCSIN_REDIS_ADDRESS=127.0.0.1:$redisport
export TOCSIN_STATE_DIR=$work/state
mkdir -p "$TOCSIN_STATE_DIR"
listen=${TOCSIN_LISTEN:-127.0.0.1:9850}
export TOCSIN_LISTEN=$listen
# The API token of config/tocsin.yaml's alerting.api_token: `tocsin ack` and `tocsin silence` need it.
TOCSIN_API_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
export TOCSIN_API_TOKEN

cat <<EOT

tocsin demo
  PostgreSQL 15   127.0.0.1:$pgport (user postgres, pgbench load)
  Redis           127.0.0.1:$redisport (redis-benchmark load)
  tocsin          http://$listen/          status page
                  http://$listen/metrics   Prometheus exposition
                  http://$listen/api/v1/query?query=pg_up
                  http://$listen/-/healthy
  config          $root/config/tocsin.yaml, rules in $root/rules/
  API token       $TOCSIN_API_TOKEN
  In another shell (the token from the environment, or --token-file):
    export TOCSIN_API_TOKEN=$TOCSIN_API_TOKEN TOCSIN_URL=http://$listen
    $root/build/src/app/tocsin alerts
    $root/build/src/app/tocsin ack ID --by you --comment 'looking'
    $root/build/src/app/tocsin silence add 'alertname="PostgresDown"' --duration 1h --by you
    $root/build/src/app/tocsin silence list
Press Ctrl-C to stop.

EOT
"$root/build/src/app/tocsin" run --config "$root/config/tocsin.yaml" &
pids+=($!)
wait "${pids[-1]}"
