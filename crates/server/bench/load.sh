#!/usr/bin/env bash
# Load test of civmap-server on loopback (see README, "Speed").
#   crates/server/bench/load.sh [PROBLEMS] [DURATION]
# Builds the loadserve example in release mode, fills /tmp/civmap-load.db with PROBLEMS synthetic
# problems (default 1,000,000; kept between runs), starts the server, and runs wrk for:
#   1. GET one problem                         (target >= 20,000 req/s, p99 <= 10 ms)
#   2. GET a bbox, 500 features, ~100 KB       (target >=  2,000 req/s, p99 <= 50 ms)
#   3. POST a report, durable, 16 connections  (target >=  2,000 req/s, p99 <= 50 ms)
# and prints the server's memory. Needs wrk (apt-get install wrk).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
problems="${1:-1000000}"
duration="${2:-10s}"
db="${CIVMAP_LOAD_DB:-/tmp/civmap-load.db}"
ids=/tmp/civmap-ids.txt
log=/tmp/civmap-loadserve.log

cd "$root"
cargo build --release -p civmap-server --example loadserve
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/loadserve"
"$bin" --db "$db" --problems "$problems" --ids "$ids" >"$log.out" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  grep -q "listening on" "$log.out" 2>/dev/null && break
  sleep 0.5
done
url="$(grep -o 'http://[0-9.:]*' "$log.out" | head -1)"
cat "$log"
echo "server at $url (pid $pid)"

run() { # name, connections, script
  echo "== $1"
  IDS="$ids" wrk -t2 -c"$2" -d"$duration" --latency -s "$here/$3" "$url" | grep -E "Requests/sec|Transfer/sec|50%|99%|Socket errors|Non-2xx|non-201"
}
run "GET one problem" 64 get_one.lua
run "GET bbox, 500 features" 32 bbox.lua
run "POST report (durable)" 16 post.lua
curl -s "$url/api/v1/problems?bbox=121.3,31.1,121.3126,31.1126&limit=500&properties=category,status,severity,overdue" -o /tmp/civmap-bbox.json
echo "bbox response: $(wc -c </tmp/civmap-bbox.json) bytes, $(grep -o '"Feature"' /tmp/civmap-bbox.json | wc -l) features"
echo "server RSS: $(grep VmRSS /proc/$pid/status)  peak: $(grep VmHWM /proc/$pid/status)"
curl -s "$url/metrics" | grep -E "^civmap_(index_problems|store_write_batches_total|store_writes_total) "
