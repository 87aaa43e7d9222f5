#!/usr/bin/env bash
# Throughput of two `civmap serve` replicas on one PostgreSQL database against one (issue 16 asks
# for the figure, not a target: on a 2-core machine the replicas, PostgreSQL and wrk share the
# cores). Durable POSTs of reports and GETs of one problem, with wrk: first 16 connections to one
# replica, then 8 to each of two replicas at once (the sum is what a load balancer would see).
#
#   CIVMAP_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test tests/bench/replicas.sh [SECONDS]
#
# Creates a database of its own (dropped afterwards); uses the release binary (built if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECS=${1:-15}
BASE=${CIVMAP_TEST_POSTGRES:?set CIVMAP_TEST_POSTGRES to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/test}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -p civmap
BIN=$ROOT/target/release/civmap
DB=civmap_bench_replicas_$$
HEAD=${BASE%/*}
URL_DB=$HEAD/$DB
psql "$BASE" -qc "CREATE DATABASE $DB"
WORK=$(mktemp -d /tmp/civmap-replicas.XXXXXX)
cleanup() {
  # start() runs in a command substitution (a subshell): the servers' pids are in a file.
  for p in $(cat "$WORK/pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$BASE" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

TOKEN=bench-replicas-$(date +%s)-$$
cat > "$WORK/civmap.toml" <<TOML
db = "$URL_DB"
photo_dir = "$WORK/photos"

[[api_tokens]]
token = "$TOKEN"
role = "reporter"
name = "replica bench"
TOML

start() { # log file → prints the URL
  "$BIN" serve --config "$WORK/civmap.toml" --addr 127.0.0.1:0 > "$1" 2>&1 &
  echo $! >> "$WORK/pids"
  local url=
  for _ in $(seq 1 600); do
    url=$(grep -o 'listening on http://[0-9.:]*' "$1" | head -1 | sed 's/listening on //') || true
    [ -n "$url" ] && break
    sleep 0.1
  done
  until curl -sf "$url/readyz" >/dev/null; do sleep 0.1; done
  echo "$url"
}
rps() { awk '/^Requests\/sec/ {print $2}'; }
wrk_run() { # url connections script
  (cd "$WORK" && CIVMAP_TOKEN=$TOKEN CIVMAP_IDS=$WORK/ids.txt wrk -t1 -c"$2" -d"${SECS}s" --latency -s "$ROOT/tests/bench/wrk/$3" "$1")
}

A=$(start "$WORK/a.log")
echo "replicas: A at $A; seeding 2,000 reports"
for i in $(seq 1 2000); do echo "{\"lon\":121.5$((i % 97)),\"lat\":31.28$((i % 89)),\"category\":\"garbage\",\"description\":\"seed $i\"}"; done |
  while read -r body; do curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$body" "$A/api/v1/problems"; done
curl -sf -H "Authorization: Bearer $TOKEN" "$A/api/v1/problems?limit=1000&bbox=121.4,31.2,121.7,31.4" | python3 -c 'import json,sys; print("\n".join(f["id"] for f in json.load(sys.stdin)["features"]))' > "$WORK/ids.txt"

echo "replicas: $(wc -l < "$WORK/ids.txt") problems to read"
ONE_POST=$(wrk_run "$A" 16 post.lua | rps)
ONE_GET=$(wrk_run "$A" 16 get_one.lua | rps)
B=$(start "$WORK/b.log")
echo "replicas: B at $B"
wrk_run "$A" 8 post.lua > "$WORK/pa" & W=$!; wrk_run "$B" 8 post.lua > "$WORK/pb"; wait "$W"
TWO_POST=$(python3 -c "print(f'{$(rps < "$WORK/pa") + $(rps < "$WORK/pb"):.0f}')")
wrk_run "$A" 8 get_one.lua > "$WORK/ga" & W=$!; wrk_run "$B" 8 get_one.lua > "$WORK/gb"; wait "$W"
TWO_GET=$(python3 -c "print(f'{$(rps < "$WORK/ga") + $(rps < "$WORK/gb"):.0f}')")
LAG=$(curl -sf "$B/readyz" | python3 -c 'import json,sys; f=json.load(sys.stdin)["follow"]; print("caught_up=%s lag_events=%s" % (f["caught_up"], f["lag_events"]))')

cat <<REPORT

civmap replicas on one PostgreSQL — $(nproc) cores, ${SECS}s per run, wrk on the same machine
| requests/s            | 1 replica (16 conns) | 2 replicas (8 + 8 conns) |
|-----------------------|----------------------|--------------------------|
| POST a report, durable | $ONE_POST | $TWO_POST |
| GET one problem        | $ONE_GET | $TWO_GET |
B after the runs: $LAG; load average $(cut -d' ' -f1-3 /proc/loadavg)
REPORT
