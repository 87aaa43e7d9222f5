#!/usr/bin/env bash
# Hot and cold at city scale (issue 16's "Speed and memory"): N synthetic problems, HOT of them
# open or recent, in PostgreSQL or SQLite; measures `civmap serve` start-up to /readyz 200 and its
# peak RSS (VmHWM), a zone's ledger (three years, and all ten), and cold problems' pages.
#
#   tests/bench/cold.sh postgres|sqlite [N] [HOT]      (defaults: 10000000 problems, 1000000 hot)
#
# Environment: CIVMAP_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test) names a
# database to connect to for CREATE/DROP DATABASE; KEEP=1 keeps the database afterwards;
# DB_URL=postgres://…/db (or sqlite://file) measures a database filled before, keeping it.
#
# The data are made inside the database (PostgreSQL's generate_series; SQLite: the sqlite3 shell's
# generate_series), not through the API: problem i (1..N) is reported at NOW - (N - i) * 10 years
# / N, so the last HOT are the last HOT/N * 10 years; those are open (one in three, `dispatched`)
# or closed two days after the report; the older ones are closed (19 in 20) or merged, two days
# after their report. Positions are a fixed hash of i over a 0.1° square (Shanghai), so the
# same seed gives the same data. Every row is labelled: source = 'bench-cold', external_id = i,
# description 'SYNTHETIC bench problem i'. Each problem has its `created` event, and a closed one
# its `verified` event.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BACKEND=${1:?postgres or sqlite}
N=${2:-10000000}
HOT=${3:-1000000}
SEED=${SEED:-42}
PG=${CIVMAP_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
NOW=$(($(date +%s) * 1000))
SPAN=315360000000 # ten years, ms
TWO_DAYS=172800000

cargo build --release -p civmap
BIN=$ROOT/target/release/civmap
WORK=$(mktemp -d /tmp/civmap-cold.XXXXXX)
DBNAME=civmap_bench_cold_$$
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  if [ -z "${KEEP:-}" ]; then
    [ "$BACKEND" = postgres ] && psql -q "$PG" -c "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)"
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

TOKEN=cold-bench-token-$NOW
cat > "$WORK/civmap.toml" <<TOML
[[api_tokens]]
token = "$TOKEN"
role = "admin"
name = "bench"
[workflow]
escalation_check_s = 0
TOML

case $BACKEND in
  postgres)
    if [ -n "${DB_URL:-}" ]; then KEEP=1; else psql -q "$PG" -c "CREATE DATABASE $DBNAME"; fi
    URL=${DB_URL:-"${PG%/*}/$DBNAME"}
    SQL() { psql -q -v ON_ERROR_STOP=1 "$URL" "$@"; }
    ;;
  sqlite)
    URL=${DB_URL:-"sqlite://$WORK/cold.db"}
    [ -n "${DB_URL:-}" ] && KEEP=1
    SQL() { sqlite3 -bail "${URL#sqlite://}" "$@"; }
    # The fill runs in Python's sqlite3 (which has an R*Tree, for migration 11's triggers) with
    # `unhex` given to it (Debian's SQLite 3.40 predates the built-in one).
    FILL() {
      python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.create_function("unhex", 1, bytes.fromhex, deterministic=True)
c.executescript(sys.stdin.read())
'  "${URL#sqlite://}"
    }
    ;;
  *) echo "postgres or sqlite" >&2; exit 2 ;;
esac

# Migrations: the server creates the schema on first start.
start() {
  "$BIN" serve --config "$WORK/civmap.toml" --db "$URL" --addr 127.0.0.1:0 --log warn,civmap_app=info,civmap_server=info \
    --photo-dir "$WORK/photos" > "$WORK/serve.log" 2>&1 &
  SERVER_PID=$!
  local t0; t0=$(date +%s.%N)
  until PORT=$(grep -oE 'listening on http://127.0.0.1:[0-9]+' "$WORK/serve.log" | grep -oE '[0-9]+$'); do
    sleep 0.02
    kill -0 "$SERVER_PID" || { cat "$WORK/serve.log"; exit 1; }
  done
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ]; do sleep 0.02; done
  local t1; t1=$(date +%s.%N)
  START_S=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
  HWM=$(awk '/VmHWM/ {print $2 / 1024 " MB"}' "/proc/$SERVER_PID/status")
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }
start
stop
if [ -z "${DB_URL:-}" ]; then
echo "cold: filling $BACKEND with $N problems ($HOT recent) ..."
t0=$(date +%s)
# The same expressions on both backends (64-bit integer arithmetic).
REPORTED="($NOW - ($N - i) * ($SPAN / $N))"
STATUS="CASE WHEN i > $N - $HOT THEN (CASE WHEN i % 3 = 0 THEN 'dispatched' ELSE 'closed' END) \
  WHEN i % 20 = 0 THEN 'merged' ELSE 'closed' END"
UPDATED="CASE WHEN i > $N - $HOT AND i % 3 = 0 THEN $REPORTED ELSE min($REPORTED + $TWO_DAYS, $NOW - 1) END"
LON="121.45 + (((i + $SEED) * 2654435761) % 1000003) / 10000030.0"
LAT="31.25 + (((i + $SEED) * 40503) % 999983) / 9999830.0"
if [ "$BACKEND" = postgres ]; then
  UPDATED=${UPDATED//min(/least(}
  SQL <<SQL
BEGIN;
INSERT INTO problems (id, lon, lat, category, severity, status, description, reported_at, updated_at,
  rework_count, version, source, external_id, case_no, place)
SELECT (lpad(to_hex($REPORTED), 12, '0') || '7' || lpad(to_hex(i % 4096), 3, '0') || '8'
        || lpad(to_hex(i), 15, '0'))::uuid,
  $LON, $LAT, (ARRAY['garbage', 'street_vending', 'greenbelt_litter'])[1 + i % 3], 'medium',
  $STATUS, 'SYNTHETIC bench problem ' || i, $REPORTED, $UPDATED, 0, 2, 'bench-cold', i::text,
  'CM' || to_char(to_timestamp($REPORTED / 1000.0) AT TIME ZONE 'Asia/Shanghai', 'YYMMDD') || '-'
    || CASE WHEN i % 100000 + 1 < 1000 THEN lpad((i % 100000 + 1)::text, 4, '0')
            ELSE (i % 100000 + 1)::text END, ''
FROM generate_series(1::bigint, $N::bigint) AS i;
INSERT INTO events (problem, kind, actor, at, note, photos, data)
SELECT id, 'created', NULL, reported_at, '', '[]', '{}' FROM problems;
INSERT INTO events (problem, kind, actor, at, note, photos, data)
SELECT id, 'verified', NULL, updated_at, '', '[]', '{}' FROM problems WHERE status = 'closed';
COMMIT;
ANALYZE;
SQL
else
  FILL <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
INSERT INTO problems (id, lon, lat, category, severity, status, description, reported_at, updated_at,
  rework_count, version, source, external_id, case_no, place)
SELECT unhex(printf('%012x7%03x8%015x', $REPORTED, i % 4096, i)),
  $LON, $LAT, CASE i % 3 WHEN 0 THEN 'garbage' WHEN 1 THEN 'street_vending' ELSE 'greenbelt_litter' END,
  'medium', $STATUS, 'SYNTHETIC bench problem ' || i, $REPORTED, $UPDATED, 0, 2, 'bench-cold',
  CAST(i AS TEXT),
  'CM' || substr(strftime('%Y%m%d', $REPORTED / 1000, 'unixepoch', '+8 hours'), 3) || '-' || printf('%04d', i % 100000 + 1), ''
FROM (WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $N) SELECT i FROM s);
INSERT INTO events (problem, kind, actor, at, note, photos, data)
SELECT id, 'created', NULL, reported_at, '', '[]', '{}' FROM problems;
INSERT INTO events (problem, kind, actor, at, note, photos, data)
SELECT id, 'verified', NULL, updated_at, '', '[]', '{}' FROM problems WHERE status = 'closed';
COMMIT;
ANALYZE;
SQL
fi
FILL_S=$(($(date +%s) - t0))
echo "cold: filled in ${FILL_S} s"
fi

start
echo "cold: start-up to /readyz 200: $START_S s, VmHWM $HWM"
sed 's/\x1b\[[0-9;]*m//g' "$WORK/serve.log" | grep -o 'problems=[0-9]* .*elapsed_ms=[0-9]*' | tail -1 |
  sed 's/^/cold: in memory: /' || true
BASE=http://127.0.0.1:$PORT

# A zone of about 1/1000 of the area (some 10,000 problems over the ten years).
ZONE=$(curl -s -X POST "$BASE/api/v1/zones" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[121.48,31.28],[121.48316,31.28],[121.48316,31.28316],[121.48,31.28316],[121.48,31.28]]]},"properties":{"kind":"area","name":"bench zone"}}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
if [ "$BACKEND" = postgres ]; then
  CASES=$(SQL -At -c "SELECT case_no FROM problems WHERE source = 'bench-cold' AND status = 'closed' AND updated_at < $NOW - 43200000000 AND case_no NOT LIKE '%-0%' ORDER BY id LIMIT 50000" | awk 'NR % 250 == 1')
else
  CASES=$(python3 -c 'import sqlite3, sys; [print(r[0]) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]' \
    "${URL#sqlite://}" "SELECT case_no FROM problems WHERE source = 'bench-cold' AND status = 'closed' AND updated_at < $NOW - 43200000000 AND case_no NOT LIKE '%-0%' ORDER BY id LIMIT 50000" |
    awk 'NR % 250 == 1')
fi
python3 - "$BASE" "$TOKEN" "$ZONE" $CASES <<'PY'
import http.client, sys, time, statistics
base, token, zone, cases = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
host = base.split("//")[1]
def timed(path, headers={}, n=1):
    c = http.client.HTTPConnection(host)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        c.request("GET", path, headers=headers)
        r = c.getresponse(); body = r.read()
        out.append((time.perf_counter() - t) * 1000)
        assert r.status == 200, (path, r.status, body[:200])
    return out, body
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(len(v) * p))]
from datetime import datetime, timedelta, timezone
# The ledger of the last three years (issue 16's figure; a date is a whole day in China Standard
# Time), then the whole ten years.
since = (datetime.now(timezone(timedelta(hours=8))) - timedelta(days=3 * 365)).date().isoformat()
for label, query in (("three years", f"?from={since}"), ("ten years, everything", "")):
    led, body = timed(f"/api/v1/zones/{zone}/ledger{query}", {"authorization": f"Bearer {token}"}, 10)
    lines = body.count(b"\n") - 1
    print(f"cold: zone ledger, {label} ({lines} lines, {len(body)/1e6:.1f} MB CSV): p50 {pct(led, .5):.0f} ms, max {max(led):.0f} ms over {len(led)}")
page = []
api = []
for c in cases:
    t, b = timed(f"/p/{c}"); page += t
    assert "已结案" in b.decode(), c
    t, _ = timed(f"/api/v1/problems/{c}", {"authorization": f"Bearer {token}"}); api += t
print(f"cold: cold problem page /p/{{case}}: p50 {pct(page, .5):.1f} ms, p99 {pct(page, .99):.1f} ms over {len(page)}")
print(f"cold: cold problem GET /api/v1/problems/{{case}}: p50 {pct(api, .5):.1f} ms, p99 {pct(api, .99):.1f} ms over {len(api)}")
PY
echo "cold: VmRSS after the reads $(awk '/VmRSS/ {print $2 / 1024 " MB"}' "/proc/$SERVER_PID/status"), load $(cut -d' ' -f1-3 /proc/loadavg)"
