#!/usr/bin/env bash
# The soak (issue 21; docs/reliability.md, Soak): scripts/soak.sh [MINUTES] (default 10).
#
# Starts 10 PostgreSQL servers (initdb as the `postgres` user when run as root, as tests/fixtures does) and
# 10 Redis servers on loopback, a scrape target serving an exposition of 100,000 series, and the daemon
# (build/src/app/tocsin) collecting all 21 at 1 s intervals with 1,000 generated recording rules in ten
# 1 s groups and a retention of 2m (so that the store is full after the warm-up); /metrics is scraped
# every second. At the end it reports:
#   - the RSS slope in MiB/hour (least-squares fit over the samples taken after the warm-up),
#   - missed cycles: tocsin_collector_deadline_misses_total, tocsin_collector_skipped_cycles_total and
#     tocsin_rule_group_iterations_missed_total, summed,
#   - the /metrics scrape latency p50 and p99 (curl's time_total).
# Not in the default run: ctest label `soak`, which scripts/test.sh excludes (-LE soak).
set -euo pipefail
minutes=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
tocsin=${TOCSIN_BINARY:-${TOCSIN_BUILD_DIR:-$root/build}/src/app/tocsin}
[[ -x $tocsin ]] || { echo "soak: $tocsin not built (scripts/build.sh)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-soak.XXXXXX")
chmod 755 "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n $pgbin ]] || { echo "soak: PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 2; }
as_pg=()
if [[ $(id -u) == 0 ]]; then as_pg=(runuser -u postgres --); fi

pids=()
pg_dirs=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for d in "${pg_dirs[@]}"; do "${as_pg[@]}" "$pgbin/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

echo "soak: starting 10 PostgreSQL and 10 Redis servers in $work"
mkdir -p "$work/pg"
[[ ${#as_pg[@]} -gt 0 ]] && chown postgres "$work/pg"
collectors="collectors:\n  postgres:\n"
for i in $(seq 0 9); do
  d=$work/pg/$i
  "${as_pg[@]}" "$pgbin/initdb" -D "$d" -U postgres --auth=trust -E UTF8 --locale=C --no-sync \
    --no-instructions >/dev/null
  port=$(free_port)
  printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nfsync = off\n\
synchronous_commit = off\nmax_connections = 20\nshared_buffers = 16MB\n\
shared_preload_libraries = 'pg_stat_statements'\n" "$port" "$d" | "${as_pg[@]}" tee -a "$d/postgresql.conf" >/dev/null
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$d" -w -l "$d/server.log" start >/dev/null
  pg_dirs+=("$d")
  "$pgbin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -c 'CREATE EXTENSION pg_stat_statements' >/dev/null
  collectors+="    - { name: pg$i, dsn: \"host=127.0.0.1 port=$port user=postgres dbname=postgres\", interval: 1s }\n"
done
collectors+="  redis:\n"
for i in $(seq 0 9); do
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --loglevel warning \
    --dir "$work" >"$work/redis$i.log" 2>&1 &
  pids+=($!)
  collectors+="    - { name: redis$i, address: \"127.0.0.1:$port\", interval: 1s }\n"
done

# The scrape target: 100 shards x 1,000 series. Ten bodies rendered up front, served in turn, so that the
# values change every scrape and the target answers at once (rendering one takes Python most of a second).
big_port=$(free_port)
cat >"$work/big.py" <<'EOF'
import http.server, itertools, sys
bodies = [("# TYPE soak_series gauge\n" + "".join('soak_series{shard="%d",i="%d"} %d\n' % (s, i, v + i)
          for s in range(100) for i in range(1000))).encode() for v in range(10)]
turn = itertools.cycle(bodies)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = next(turn)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
class S(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address): pass  # a scrape cut at its deadline
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
python3 "$work/big.py" "$big_port" &
pids+=($!)
collectors+="  scrape:\n    - job_name: big\n      scrape_interval: 1s\n      static_configs:\n        - targets: [\"127.0.0.1:$big_port\"]\n"

# 1,000 rules: ten 1 s groups of 100; one rule in ten aggregates a shard of the scrape (1,000 series).
{
  echo "groups:"
  for g in $(seq 0 9); do
    echo "  - name: soak$g"
    echo "    interval: 1s"
    echo "    rules:"
    for r in $(seq 0 99); do
      n=$((g * 100 + r))
      if ((r % 10 == 0)); then
        echo "      - { record: \"soak:shard_sum:$n\", expr: \"sum(soak_series{shard=\\\"$((n % 100))\\\"})\" }"
      else
        echo "      - { record: \"soak:up:$n\", expr: \"sum(pg_up) + sum(redis_up) + $n\" }"
      fi
    done
  done
} >"$work/rules.yaml"

port=$(free_port)
printf "listen: 127.0.0.1:%s\nstate_dir: %s/state\ninterval: 1s\nretention: 2m\nrule_files: [rules.yaml]\n$collectors" \
  "$port" "$work" >"$work/tocsin.yaml"
"$tocsin" check --config "$work/tocsin.yaml" >/dev/null
"$tocsin" run --config "$work/tocsin.yaml" 2>"$work/tocsin.log" &
daemon=$!
pids+=("$daemon")
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$port/-/ready" >/dev/null || { echo "soak: the daemon did not start" >&2; tail "$work/tocsin.log" >&2; exit 1; }

echo "soak: daemon pid $daemon on 127.0.0.1:$port, running for $minutes minute(s)"
end=$((SECONDS + minutes * 60))
start=$SECONDS
: >"$work/latency" >"$work/rss"
while ((SECONDS < end)); do
  t0=$(date +%s.%N)
  curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/metrics" >>"$work/latency" || echo "failed" >>"$work/latency"
  echo "$((SECONDS - start)) $(awk '/^VmRSS:/ {print $2}' "/proc/$daemon/status")" >>"$work/rss"
  kill -0 "$daemon" 2>/dev/null || { echo "soak: the daemon died" >&2; tail "$work/tocsin.log" >&2; exit 1; }
  sleep "$(python3 -c "import time; print(max(0, 1 - (time.time() - $t0)))")"
done
curl -s "http://127.0.0.1:$port/metrics" >"$work/final"

python3 - "$work" "$minutes" <<'EOF'
import sys, re
work, minutes = sys.argv[1], float(sys.argv[2])
final = open(work + "/final").read()
def total(name):
    return sum(float(m.group(1)) for m in re.finditer(r"^%s(?:\{[^}]*\})? (\S+)$" % name, final, re.M))
series = len(re.findall(r"^soak_series\{", final, re.M))
rules = len(re.findall(r"^soak:", final, re.M))
lat = sorted(float(x) for x in open(work + "/latency").read().split() if x != "failed")
failed = open(work + "/latency").read().split().count("failed")
rss = [tuple(map(float, l.split())) for l in open(work + "/rss") if len(l.split()) == 2]
warm = min(180.0, minutes * 60 / 2)  # the store fills its 2m retention first
pts = [(t, kib / 1024.0) for t, kib in rss if t >= warm]
n = len(pts)
mt = sum(t for t, _ in pts) / n
mr = sum(r for _, r in pts) / n
slope = sum((t - mt) * (r - mr) for t, r in pts) / sum((t - mt) ** 2 for t, _ in pts) * 3600
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
print("soak: %.0f minute(s), %d scrape series exported, %d rule series" % (minutes, series, rules))
print("soak: RSS %.0f MiB after the warm-up (%.0f s), %.0f MiB at the end; slope %.1f MiB/hour (fit over %d samples)"
      % (pts[0][1], warm, pts[-1][1], slope, n))
print("soak: missed cycles: deadline misses %.0f, skipped collector cycles %.0f, missed rule group iterations %.0f"
      % (total("tocsin_collector_deadline_misses_total"), total("tocsin_collector_skipped_cycles_total"),
         total("tocsin_rule_group_iterations_missed_total")))
print("soak: collector cycles that failed: %.0f" % total("tocsin_collector_errors_total"))
print("soak: /metrics scrapes %d (failed %d), latency p50 %.0f ms, p99 %.0f ms, max %.0f ms"
      % (len(lat), failed, pct(0.5), pct(0.99), lat[-1] * 1000))
EOF
