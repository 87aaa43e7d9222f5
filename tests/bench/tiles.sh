#!/usr/bin/env bash
# Tile benchmark (issue 7): civmap's /tiles against martin over PostGIS, same points, same
# tile list, one run, on loopback.
#
#   tests/bench/tiles.sh [N_PROBLEMS] [SECONDS]      (defaults: 1000000 problems, 20 s per run)
#
# 1. tiles_gen.py writes N synthetic, labelled problems (seeded) and the fixed tile list: 14,000
#    z/x/y paths, 2,000 per zoom 10..16, where the data is (see tiles_gen.py).
# 2. `civmap import problems` loads them into a fresh SQLite database; `civmap serve` (release)
#    serves it on 127.0.0.1.
# 3. The same points go into PostGIS (database civmap_bench on the local PostgreSQL, EPSG:3857
#    with a GiST index), and martin serves tiles_postgis.sql's function `civmap_problems`,
#    which makes the same tiles as civmap: points with category/status/severity from z14 (and
#    their id from z16), 16 x 16 grid clusters with count/top_category/top_count below.
#    Martin's tile cache is off.
# 4. wrk (2 threads, 32 connections, Accept-Encoding: gzip like a browser) cycles through the
#    tile list against
#      a. civmap, every request with `Cache-Control: no-cache`: each tile encoded afresh
#         (civmap's cache is skipped; the fair comparison with martin, whose cache is off);
#      b. martin;
#      c. civmap with its tile cache (a second pass over the list: mostly cache hits).
#    and reports tiles/s and the ratio a/b.
# 5. The encode time of the densest z14 tile, from civmap's `Server-Timing: encode;dur=` over
#    500 uncached requests: p50 and p99.
#
# Everything runs on this machine: wrk, PostgreSQL and the servers share its cores. Installs what
# it needs: wrk and PostGIS (apt), martin (cargo install, a long build; set MARTIN=/path/to/martin
# to use a built one). PostgreSQL must run on 127.0.0.1:5432 with trust auth for `postgres`
# (PGURL overrides the server URL).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
N=${1:-1000000}
SECS=${2:-20}
PGURL=${PGURL:-postgresql://postgres@127.0.0.1:5432}
PGDB=civmap_bench

need_apt() {
  if ! dpkg -s "$1" >/dev/null 2>&1; then
    echo "tiles: installing $1 (Debian package)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  fi
}
command -v wrk >/dev/null || need_apt wrk
need_apt postgresql-15-postgis-3
MARTIN=${MARTIN:-$(command -v martin || true)}
if [ -z "$MARTIN" ]; then
  echo "tiles: installing martin 1.14.0 with PostgreSQL sources only (cargo install; its default rendering feature clones maplibre-native at build time)"
  CARGO_TARGET_DIR=${MARTIN_TARGET_DIR:-/tmp/target-martin} \
    cargo install martin --version 1.14.0 --locked --no-default-features --features postgres
  MARTIN=$(command -v martin)
fi

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release -p civmap
BIN=$TARGET/release/civmap
WORK=$(mktemp -d /tmp/civmap-tiles.XXXXXX)
CIVMAP_PID=
MARTIN_PID=
cleanup() {
  [ -n "$CIVMAP_PID" ] && kill "$CIVMAP_PID" 2>/dev/null && wait "$CIVMAP_PID" 2>/dev/null
  [ -n "$MARTIN_PID" ] && kill "$MARTIN_PID" 2>/dev/null && wait "$MARTIN_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "tiles: generating $N problems and the tile list"
python3 tests/bench/tiles_gen.py "$N" "$WORK"
read -r DENSE DENSE_N < <(head -1 "$WORK/densest.txt")
read -r MEDIAN MEDIAN_N < <(sed -n 2p "$WORK/densest.txt")

echo "tiles: importing into SQLite"
"$BIN" import problems "$WORK/problems.csv" --mapping tests/bench/tiles_mapping.toml \
  --db "sqlite://$WORK/tiles.db" 2>&1 | tail -1

echo "tiles: loading PostGIS ($PGDB)"
psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS $PGDB" -c "CREATE DATABASE $PGDB"
psql -q -v ON_ERROR_STOP=1 "$PGURL/$PGDB" -f tests/bench/tiles_postgis.sql < "$WORK/problems.csv"

echo "tiles: starting civmap"
"$BIN" serve --addr 127.0.0.1:0 --db "sqlite://$WORK/tiles.db" --log warn,civmap_server=info \
  > "$WORK/civmap.log" 2>&1 &
CIVMAP_PID=$!
for _ in $(seq 1 600); do
  grep -q "listening on" "$WORK/civmap.log" && break
  sleep 0.5
done
CIVMAP=$(grep -o "http://[0-9.:]*" "$WORK/civmap.log" | head -1)
[ -n "$CIVMAP" ] || { cat "$WORK/civmap.log"; exit 1; }
for _ in $(seq 1 600); do
  curl -fs "$CIVMAP/readyz" >/dev/null && break
  sleep 0.5
done

echo "tiles: starting martin (tile cache off)"
MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/martin.yaml" <<YAML
listen_addresses: "127.0.0.1:$MPORT"
cache_size_mb: 0
postgres:
  connection_string: "$PGURL/$PGDB"
  pool_size: 20
  auto_publish: false
  functions:
    problems:
      schema: public
      function: civmap_problems
      minzoom: 8
      maxzoom: 18
YAML
RUST_LOG=info "$MARTIN" --config "$WORK/martin.yaml" > "$WORK/martin.log" 2>&1 &
MARTIN_PID=$!
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$MPORT/health" >/dev/null && break
  sleep 0.5
done
grep -i "cach" "$WORK/martin.log" | head -3 || true

# Both answer the same tile alike (feature counts of the densest z14 tile, decoded by length only).
c=$(curl -s -o /dev/null -w "%{http_code} %{size_download}" "$CIVMAP/tiles/problems/$DENSE.mvt")
m=$(curl -s -o /dev/null -w "%{http_code} %{size_download}" "http://127.0.0.1:$MPORT/problems/$DENSE")
echo "tiles: densest z14 tile $DENSE ($DENSE_N points): civmap $c bytes, martin $m bytes (uncompressed)"

run() { # name url prefix suffix nocache [paths file]
  PATHS="${6:-$WORK/paths.txt}" PREFIX="$3" SUFFIX="$4" NOCACHE="$5" \
    wrk -t2 -c32 -d"${SECS}s" --timeout 10s -s tests/bench/tiles.lua "$2" > "$WORK/$1.txt"
  local rps
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$1.txt")
  echo "$rps"
}

echo "tiles: warming up (5 s each)"
SECS_SAVED=$SECS; SECS=5
run warm-civmap "$CIVMAP" /tiles/problems .mvt 1 >/dev/null
run warm-martin "http://127.0.0.1:$MPORT" /problems "" 0 >/dev/null
SECS=$SECS_SAVED

echo "tiles: measuring, $SECS s per run"
OURS=$(run civmap-nocache "$CIVMAP" /tiles/problems .mvt 1)
THEIRS=$(run martin "http://127.0.0.1:$MPORT" /problems "" 0)
CACHED=$(run civmap-cached "$CIVMAP" /tiles/problems .mvt 0)
# The point tiles only (z14-16: the same index query and ST_AsMVT of points on both sides; at
# z10-13 PostGIS groups hundreds of thousands of points per tile, civmap reads its pyramid).
grep -E '^1[4-6]/' "$WORK/paths.txt" > "$WORK/paths-points.txt"
OURS_P=$(run civmap-points-nocache "$CIVMAP" /tiles/problems .mvt 1 "$WORK/paths-points.txt")
THEIRS_P=$(run martin-points "http://127.0.0.1:$MPORT" /problems "" 0 "$WORK/paths-points.txt")

echo "tiles: encode time of the densest and the median z14 tiles (Server-Timing, 500 uncached requests each)"
python3 - "$CIVMAP" "$DENSE" "$MEDIAN" <<'PY'
import http.client, statistics, sys, urllib.parse
base, dense, median = sys.argv[1], sys.argv[2], sys.argv[3]
u = urllib.parse.urlparse(base)
c = http.client.HTTPConnection(u.hostname, u.port)
for name, tile in (("densest", dense), ("median", median)):
    enc, gz = [], []
    for _ in range(500):
        c.request("GET", f"/tiles/problems/{tile}.mvt",
                  headers={"Cache-Control": "no-cache", "Accept-Encoding": "gzip"})
        r = c.getresponse(); r.read()
        t = dict(p.strip().split(";dur=") for p in r.getheader("Server-Timing", "").split(","))
        enc.append(float(t["encode"])); gz.append(float(t["gzip"]))
    enc.sort(); gz.sort()
    print(f"  {name} z14 tile {tile}: encode p50 {statistics.median(enc):.3f} ms, "
          f"p99 {enc[int(len(enc) * 0.99)]:.3f} ms; gzip p50 {statistics.median(gz):.3f} ms")
PY

echo
echo "== results ($N problems, ${SECS}s per run, $(nproc) cores shared by wrk, PostgreSQL and the servers) =="
for f in civmap-nocache martin civmap-cached civmap-points-nocache martin-points; do
  printf "%-16s %10s tiles/s   " "$f" "$(awk '/Requests\/sec/ {print $2}' "$WORK/$f.txt")"
  grep -h "latency p50\|non-2xx\|Socket errors" "$WORK/$f.txt" | tr '\n' ' '
  echo
done
python3 -c "print(f'ratio civmap (uncached) / martin (cache off), z10-16: {float(\"$OURS\") / float(\"$THEIRS\"):.1f}x')"
python3 -c "print(f'ratio civmap (uncached) / martin (cache off), z14-16 point tiles only: {float(\"$OURS_P\") / float(\"$THEIRS_P\"):.1f}x')"
echo "civmap RSS: $(ps -o rss= -p "$CIVMAP_PID" | awk '{printf "%.0f MB", $1/1024}')"
