#!/usr/bin/env bash
# HTTP load test of `civmap serve` on loopback (issue 4's speed targets), with wrk.
#
#   tests/bench/http_load.sh [N_PROBLEMS] [SECONDS]     (defaults: 1000000 problems, 20 s per run)
#
# Environment:
#   CIVMAP_PROFILE=release|bench|dev   the cargo profile of the server (default release; dev is a
#                                      smoke test only: its figures say nothing about speed)
#   ONLY=post                          run the POST measurement only
#   RUNS=3                             repeat the POST run (each one reported, with the writer's
#                                      COMMIT/fsync time, queue wait and batch sizes from /metrics)
#
# Loads N synthetic, labelled problems (gen_problems.py, seeded) into a fresh SQLite database with
# `civmap import problems`, starts the release server on 127.0.0.1:0 (synchronous=FULL, the
# default), and measures with wrk on the same machine (the load generator shares the cores):
#   1. GET one problem by id                       (64 connections)
#   2. GET a bbox returning 500 features as GeoJSON (64 connections)
#   3. POST a report, durable                       (16 connections)
# and the server's resident memory after loading and after the runs. Prints a summary table.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
N=${1:-1000000}
SECS=${2:-20}

if ! command -v wrk >/dev/null; then
  echo "http_load: installing wrk (Debian package)"
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

PROFILE=${CIVMAP_PROFILE:-release}
RUNS=${RUNS:-1}
ONLY=${ONLY:-}
cargo build --profile "$PROFILE" -p civmap
case $PROFILE in
  dev) BIN=$ROOT/target/debug/civmap ;;
  release | bench) BIN=$ROOT/target/release/civmap ;;
  *) BIN=$ROOT/target/$PROFILE/civmap ;;
esac
WORK=$(mktemp -d /tmp/civmap-load.XXXXXX)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "http_load: generating $N synthetic problems"
python3 tests/bench/gen_problems.py "$N" "$WORK/problems.csv"
echo "http_load: importing"
t0=$(date +%s.%N)
"$BIN" import problems "$WORK/problems.csv" --mapping tests/bench/load_mapping.toml \
  --db "sqlite://$WORK/load.db" | tail -3
t1=$(date +%s.%N)
IMPORT_S=$(python3 -c "print(f'{$t1 - $t0:.1f}')")

TOKEN=load-test-token-$(date +%s)-$$
cat > "$WORK/civmap.toml" <<TOML
[[api_tokens]]
token = "$TOKEN"
role = "reporter"
name = "load test"
TOML

echo "http_load: starting the server"
t0=$(date +%s.%N)
"$BIN" serve --config "$WORK/civmap.toml" --addr 127.0.0.1:0 --db "sqlite://$WORK/load.db" \
  > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
URL=
for _ in $(seq 1 600); do
  URL=$(grep -o 'listening on http://[0-9.:]*' "$WORK/server.log" | head -1 | sed 's/listening on //') || true
  [ -n "$URL" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.1
done
until curl -sf "$URL/readyz" >/dev/null; do sleep 0.1; done
t1=$(date +%s.%N)
START_S=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER_PID/status"; }
RSS_LOADED=$(rss)
echo "http_load: serving at $URL after ${START_S}s, RSS ${RSS_LOADED} MB"

# Ids of real problems and boxes that each hold at least 500 of them.
python3 - "$URL" "$WORK" <<'PY'
import json, random, sys, urllib.parse, urllib.request
url, work = sys.argv[1], sys.argv[2]
ids, cursor = [], None
while len(ids) < 5000:
    q = f"{url}/api/v1/problems?limit=1000&bbox=121.30,31.10,121.62,31.38" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
    page = json.load(urllib.request.urlopen(q))
    ids += [f["id"] for f in page["features"]]
    cursor = page.get("next")
    if not cursor:
        break
open(f"{work}/ids.txt", "w").write("\n".join(ids) + "\n")
rng = random.Random(7)
boxes = []
while len(boxes) < 200:
    lon, lat = rng.uniform(121.32, 121.59), rng.uniform(31.12, 31.35)
    b = f"{lon:.5f},{lat:.5f},{lon + 0.012:.5f},{lat + 0.012:.5f}"
    fc = json.load(urllib.request.urlopen(f"{url}/api/v1/problems?limit=500&bbox={b}"))
    if len(fc["features"]) == 500:
        boxes.append(b)
open(f"{work}/boxes.txt", "w").write("\n".join(boxes) + "\n")
page = f"{url}/api/v1/problems?limit=500&bbox={boxes[0]}"
size = len(urllib.request.urlopen(page).read())
gz = len(urllib.request.urlopen(urllib.request.Request(page, headers={"Accept-Encoding": "gzip"})).read())
lean = len(urllib.request.urlopen(urllib.request.Request(page + "&properties=category,status,severity", headers={"Accept-Encoding": "gzip"})).read())
print(f"http_load: {len(ids)} ids, {len(boxes)} boxes of 500 features ({size / 1024:.0f} KB each; "
      f"gzipped {gz / 1024:.0f} KB; with properties=category,status,severity gzipped {lean / 1024:.0f} KB)")
PY

declare -A RPS P50 P99
run() { # name connections script
  local out
  out=$(cd "$WORK" && CIVMAP_IDS=$WORK/ids.txt CIVMAP_BOXES=$WORK/boxes.txt CIVMAP_TOKEN=$TOKEN \
    wrk -t2 -c"$2" -d"${SECS}s" --latency -s "$ROOT/tests/bench/wrk/$3" "$URL")
  echo "$out"
  RPS[$1]=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  P50[$1]=$(echo "$out" | awk '$1 == "50%" {print $2}')
  P99[$1]=$(echo "$out" | awk '$1 == "99%" {print $2}')
  if echo "$out" | grep -q 'Non-2xx'; then echo "http_load: $1 had non-2xx answers" >&2; exit 1; fi
}
# The writer's histograms from /metrics (cumulative); `writer_delta BEFORE AFTER` prints one
# run's quantiles: where a slow POST's time went (queue wait, COMMIT = the fsync, batch size).
scrape() { curl -sf "$URL/metrics" > "$1"; }
writer_delta() {
  python3 - "$1" "$2" <<'PY'
import re, sys
def read(path):
    h = {}
    for line in open(path):
        m = re.match(r'(civmap_store_\w+)_bucket\{le="([^"]+)"\} (\d+)', line)
        if m:
            h.setdefault(m[1], []).append((float("inf") if m[2] == "+Inf" else float(m[2]), int(m[3])))
        m = re.match(r'(civmap_store_\w+)_(sum|count) ([0-9.e+-]+)$', line)
        if m:
            h.setdefault(m[1] + "_" + m[2], float(m[3]))
    return h
a, b = read(sys.argv[1]), read(sys.argv[2])
def q(name, p):
    before = dict(a.get(name, []))
    rows = [(le, n - before.get(le, 0)) for le, n in b.get(name, [])]
    total = rows[-1][1] if rows else 0
    if total == 0:
        return "-"
    for le, n in rows:
        if n >= p * total:
            return "≤ inf" if le == float("inf") else (f"≤ {le * 1000:g} ms" if name.endswith("seconds") else f"≤ {le:g}")
def mean(name):
    n = b.get(name + "_count", 0) - a.get(name + "_count", 0)
    return (b.get(name + "_sum", 0) - a.get(name + "_sum", 0)) / n if n else 0
print(f"writer: batches {b.get('civmap_store_batch_writes_count', 0) - a.get('civmap_store_batch_writes_count', 0):.0f}, "
      f"writes/batch mean {mean('civmap_store_batch_writes'):.1f} (p99 {q('civmap_store_batch_writes', 0.99)}); "
      f"COMMIT (fsync) mean {mean('civmap_store_commit_seconds') * 1000:.2f} ms, p50 {q('civmap_store_commit_seconds', 0.5)}, p99 {q('civmap_store_commit_seconds', 0.99)}; "
      f"statements p99 {q('civmap_store_batch_statements_seconds', 0.99)}; hook p99 {q('civmap_store_commit_hook_seconds', 0.99)}; "
      f"queue wait p99 {q('civmap_store_queue_wait_seconds', 0.99)}; write p99 {q('civmap_store_write_seconds', 0.99)}")
PY
}
if [ "$ONLY" != post ]; then
  run get_one 64 get_one.lua
  run bbox_500 64 bbox.lua
fi
POSTS=()
for i in $(seq 1 "$RUNS"); do
  scrape "$WORK/m0"
  run post 16 post.lua
  scrape "$WORK/m1"
  W=$(writer_delta "$WORK/m0" "$WORK/m1")
  echo "$W"
  POSTS+=("| POST run $i ($PROFILE) | 16 | ${RPS[post]} | ${P50[post]} | ${P99[post]} | $W |")
done
RSS_END=$(rss)

cat <<REPORT

civmap HTTP load test — $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
problems loaded: $N (import ${IMPORT_S}s, start-up to ready ${START_S}s)
| run                       | conns | requests/s | p50 | p99 |
|---------------------------|-------|------------|-----|-----|
| GET one problem           | 64    | ${RPS[get_one]:-} | ${P50[get_one]:-} | ${P99[get_one]:-} |
| GET bbox, 500 features    | 64    | ${RPS[bbox_500]:-} | ${P50[bbox_500]:-} | ${P99[bbox_500]:-} |
REPORT
printf '%s\n' "${POSTS[@]}"
cat <<REPORT
server RSS: ${RSS_LOADED} MB after loading, ${RSS_END} MB after the runs; profile $PROFILE; load average $(cut -d' ' -f1-3 /proc/loadavg)
REPORT
