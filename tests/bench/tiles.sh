#!/usr/bin/env bash
# Tile benchmark (issues 7 and 19): civmap's /tiles/problems against martin over PostGIS doing
# the same job — the same points, the same tiles (clusters at z10-13, points at z14-16), the
# same tile list — cache off and cache on, on loopback.
#
#   tests/bench/tiles.sh [N_PROBLEMS] [SECONDS]      (defaults: 1000000 problems, 20 s per run)
#
# 1. tiles_gen.py writes N synthetic, labelled problems (seeded) and the fixed tile list: 14,000
#    z/x/y paths, 2,000 per zoom 10..16, where the data is (see tiles_gen.py).
# 2. `civmap import problems` loads them into a fresh SQLite database; `civmap serve` (release)
#    serves it on 127.0.0.1 with a 512 MB tile cache (`[limits] tile_cache_bytes`, default
#    64 MiB; the same budget as martin's below; TILE_CACHE_BYTES=n sets another).
# 3. The same points go into PostGIS (database civmap_bench on the local PostgreSQL, EPSG:3857
#    with a GiST index) and tiles_postgis.sql makes two function sources for martin that return
#    civmap's tiles:
#      live     z10-13 clusters computed per request from the points with ST_SnapToGrid;
#      pyramid  z10-13 clusters read from a cell table built once after loading, as civmap
#               reads its count pyramid;
#    both: the points at z14-16. The script checks, for a sample of tiles of every zoom, that
#    civmap and both functions return the same features (count, properties, positions).
# 4. wrk (2 threads, 32 connections, Accept-Encoding: gzip like a browser) cycles through the
#    tile list (all of z10-16, the cluster tiles z10-13 only, the point tiles z14-16 only):
#      cache off: civmap with `Cache-Control: no-cache` on every request (each tile encoded
#                 afresh), martin pyramid and martin live with martin's tile cache off (after
#                 each martin run the queries still running in PostgreSQL are cancelled, so
#                 they do not slow the next run);
#      cache on:  civmap with its tile cache, martin pyramid with a 512 MB tile cache, after a
#                 warm pass over the whole list on both (live and pyramid are the same cache
#                 hits once warm); then again without Accept-Encoding (all and points).
#    and prints tiles/s and every ratio.
# 5. civmap's encode time (`Server-Timing: encode;dur=`): the densest and the median z14 tiles
#    over 500 uncached requests each (p50, p99), and p50 per zoom over the list.
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
MARTIN_VERSION=1.14.0

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
  echo "tiles: installing martin $MARTIN_VERSION with PostgreSQL sources only (cargo install; its default rendering feature clones maplibre-native at build time)"
  CARGO_TARGET_DIR=${MARTIN_TARGET_DIR:-/tmp/target-martin} \
    cargo install martin --version "$MARTIN_VERSION" --locked --no-default-features --features postgres
  MARTIN=$(command -v martin)
fi
echo "tiles: $("$MARTIN" --version)"

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release -p civmap
BIN=$TARGET/release/civmap
WORK=$(mktemp -d /tmp/civmap-tiles.XXXXXX)
CIVMAP_PID=
MARTIN_PID=
stop_martin() {
  if [ -n "$MARTIN_PID" ]; then
    kill "$MARTIN_PID" 2>/dev/null || true
    wait "$MARTIN_PID" 2>/dev/null || true
    MARTIN_PID=
  fi
}
cleanup() {
  if [ -n "$CIVMAP_PID" ]; then
    kill "$CIVMAP_PID" 2>/dev/null || true
    wait "$CIVMAP_PID" 2>/dev/null || true
  fi
  stop_martin
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "tiles: generating $N problems and the tile list"
python3 tests/bench/tiles_gen.py "$N" "$WORK"
read -r DENSE DENSE_N < <(head -1 "$WORK/densest.txt")
read -r MEDIAN MEDIAN_N < <(sed -n 2p "$WORK/densest.txt")
grep -E '^1[0-3]/' "$WORK/paths.txt" > "$WORK/paths-clusters.txt"
grep -E '^1[4-6]/' "$WORK/paths.txt" > "$WORK/paths-points.txt"

echo "tiles: importing into SQLite"
"$BIN" import problems "$WORK/problems.csv" --mapping tests/bench/tiles_mapping.toml \
  --db "sqlite://$WORK/tiles.db" 2>&1 | tail -1

# PostGIS gets the points with the ids civmap gave them on import (a UUID of its own per problem;
# the file's key is kept as the external id), so that z16 tiles carry the same ids on both sides.
python3 - "$WORK" <<'PY'
import csv, sqlite3, sys, uuid
work = sys.argv[1]
db = sqlite3.connect(f"file:{work}/tiles.db?mode=ro", uri=True)
ids = {ext.split(":", 1)[1]: str(uuid.UUID(bytes=i))
       for i, ext in db.execute("SELECT id, external_id FROM problems WHERE source = 'tilebench'")}
with open(f"{work}/problems.csv", newline="") as f, open(f"{work}/problems-pg.csv", "w", newline="") as g:
    r, w = csv.reader(f), csv.writer(g)
    w.writerow(next(r))
    for row in r:
        row[0] = ids[row[0]]
        w.writerow(row)
print(f"tiles: {len(ids)} civmap ids for PostGIS")
PY

echo "tiles: loading PostGIS ($PGDB): points, GiST index, cell table"
psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS $PGDB" -c "CREATE DATABASE $PGDB"
t0=$(date +%s.%N)
psql -q -v ON_ERROR_STOP=1 "$PGURL/$PGDB" -f tests/bench/tiles_postgis.sql < "$WORK/problems-pg.csv"
python3 -c "print(f'tiles: PostGIS loaded in {$(date +%s.%N) - $t0:.1f} s')"
psql -At "$PGURL/$PGDB" -c "SELECT 'tiles: cell table: ' || string_agg('z' || z || ' ' || n || ' cells', ', ' ORDER BY z) FROM (SELECT z, count(*) n FROM problem_cells GROUP BY z) c"

echo "tiles: starting civmap"
TILE_CACHE_BYTES=${TILE_CACHE_BYTES:-512000000}
CIVMAP_LIMITS__TILE_CACHE_BYTES=$TILE_CACHE_BYTES "$BIN" serve --addr 127.0.0.1:0 --db "sqlite://$WORK/tiles.db" --log warn,civmap_server=info \
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
echo "tiles: civmap tile cache: $TILE_CACHE_BYTES bytes"

MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MARTIN_URL="http://127.0.0.1:$MPORT"
start_martin() { # cache size in MB (0: off)
  cat > "$WORK/martin.yaml" <<YAML
listen_addresses: "127.0.0.1:$MPORT"
cache:
  size_mb: $1
  tile_size_mb: $1
postgres:
  connection_string: "$PGURL/$PGDB"
  pool_size: 20
  auto_publish: false
  functions:
    live:
      schema: public
      function: civmap_problems_live
      minzoom: 10
      maxzoom: 16
    pyramid:
      schema: public
      function: civmap_problems_pyramid
      minzoom: 10
      maxzoom: 16
YAML
  if [ "$1" = 0 ]; then # size 0 is "disabled"; a tile_size_mb of 0 is not accepted by every version
    sed -i '/tile_size_mb/d' "$WORK/martin.yaml"
  fi
  RUST_LOG=info "$MARTIN" --config "$WORK/martin.yaml" > "$WORK/martin.log" 2>&1 &
  MARTIN_PID=$!
  for _ in $(seq 1 120); do
    curl -fs "$MARTIN_URL/health" >/dev/null && break
    sleep 0.5
  done
  curl -fs "$MARTIN_URL/health" >/dev/null || { cat "$WORK/martin.log"; exit 1; }
  grep -i "cach" "$WORK/martin.log" | sed 's/^/  martin: /' | head -3 || true
}

echo "tiles: starting martin (tile cache off)"
start_martin 0

# The MVT reader of the checks below (stdlib only): layers, features, properties, points.
cat > "$WORK/mvt.py" <<'PY'
import gzip, struct

def varint(b, i):
    r = s = 0
    while True:
        c = b[i]; i += 1
        r |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return r, i

def fields(b):
    i = 0
    while i < len(b):
        k, i = varint(b, i)
        f, t = k >> 3, k & 7
        if t == 0:
            v, i = varint(b, i)
        elif t == 2:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        elif t == 1:
            v = b[i:i + 8]; i += 8
        elif t == 5:
            v = b[i:i + 4]; i += 4
        else:
            raise ValueError(f"wire type {t}")
        yield f, v

def packed(b):
    out, i = [], 0
    while i < len(b):
        v, i = varint(b, i); out.append(v)
    return out

def value(b):
    for f, v in fields(b):
        if f == 1: return v.decode()
        if f == 2: return struct.unpack("<f", v)[0]
        if f == 3: return struct.unpack("<d", v)[0]
        if f == 4: return v - (1 << 64) if v >= 1 << 63 else v
        if f == 5: return v
        if f == 6: return (v >> 1) ^ -(v & 1)
        if f == 7: return bool(v)

def decode(b):
    """{layer name: [(feature id, {property: value}, [(x, y), ...])]} of a tile."""
    if b[:2] == b"\x1f\x8b":
        b = gzip.decompress(b)
    layers = {}
    for f, lb in fields(b):
        if f != 3:
            continue
        name, keys, vals, feats = None, [], [], []
        for g, v in fields(lb):
            if g == 1: name = v.decode()
            elif g == 2: feats.append(v)
            elif g == 3: keys.append(v.decode())
            elif g == 4: vals.append(value(v))
        out = []
        for fb in feats:
            fid, tags, geom = None, [], []
            for g, v in fields(fb):
                if g == 1: fid = v
                elif g == 2: tags = packed(v)
                elif g == 4: geom = packed(v)
            pts, x, y, i = [], 0, 0, 0
            while i < len(geom):
                cmd, n = geom[i] & 7, geom[i] >> 3; i += 1
                for _ in range(n if cmd in (1, 2) else 0):
                    dx, dy = geom[i], geom[i + 1]; i += 2
                    x += (dx >> 1) ^ -(dx & 1); y += (dy >> 1) ^ -(dy & 1)
                    pts.append((x, y))
            out.append((fid, {keys[tags[j]]: vals[tags[j + 1]] for j in range(0, len(tags), 2)}, pts))
        layers[name] = out
    return layers
PY

echo "tiles: the same tiles? civmap against martin live and martin pyramid (decoded; 12 tiles per zoom and the densest z14)"
python3 - "$CIVMAP" "$MARTIN_URL" "$WORK" "$DENSE" <<'PY'
import http.client, sys, urllib.parse
sys.path.insert(0, sys.argv[3])
import mvt
civmap, martin, work, dense = sys.argv[1:5]
paths = [l.strip() for l in open(f"{work}/paths.txt") if l.strip()]
sample = [dense]
for z in range(10, 17):
    sample += [p for p in paths if p.startswith(f"{z}/")][:12]
conns = {}
def get(base, path, gzip=False):
    u = urllib.parse.urlparse(base)
    c = conns.setdefault(base, http.client.HTTPConnection(u.hostname, u.port))
    h = {"Cache-Control": "no-cache"}
    if gzip:
        h["Accept-Encoding"] = "gzip"
    c.request("GET", path, headers=h)
    r = c.getresponse()
    return r.status, r.read(), r.getheader("Content-Encoding")
def features(status, body):
    if status == 204 or not body:
        return []
    return mvt.decode(body).get("problems", [])
def key(f, with_id):
    fid, props, pts = f
    p = dict(props)
    if "count" in p:           # clusters: the cell number is the feature id on both sides
        return (fid, tuple(sorted(p.items())))
    return ((fid if with_id else None), tuple(sorted(p.items())))
bad = 0
by_zoom = {}
for t in sample:
    z = int(t.split("/")[0])
    a = features(*get(civmap, f"/tiles/problems/{t}.mvt")[:2])
    row = [len(a)]
    for src in ("live", "pyramid"):
        b = features(*get(martin, f"/{src}/{t}")[:2])
        row.append(len(b))
        # The z16 feature id: civmap the low 64 bits of the UUID, PostGIS the low 63.
        fix = (lambda i: i & (2**63 - 1)) if z >= 16 else (lambda i: i)
        ka = sorted((key((fix(f[0]) if f[0] is not None else None, f[1], f[2]), True), f[2]) for f in a)
        kb = sorted((key(f, True), f[2]) for f in b)
        same_props = [k for k, _ in ka] == [k for k, _ in kb]
        # positions: tile units, rounding may differ by one unit
        far = max((max(abs(p[0] - q[0]), abs(p[1] - q[1]))
                   for (_, ps), (_, qs) in zip(ka, kb) for p, q in zip(ps, qs)), default=0)
        ok = len(a) == len(b) and same_props and far <= 1
        if not ok:
            bad += 1
            print(f"  MISMATCH {t} {src}: civmap {len(a)} features, martin {len(b)}, "
                  f"properties {'equal' if same_props else 'differ'}, largest position gap {far}")
    s = by_zoom.setdefault(z, [0, 0, 0, 0])
    s[0] += 1; s[1] += row[0]; s[2] += row[1]; s[3] += row[2]
for z, (n, c, l, p) in sorted(by_zoom.items()):
    print(f"  z{z}: {n} tiles, features civmap {c}, martin live {l}, martin pyramid {p}")
print("  every sampled tile: the same features, properties and positions (±1 unit) on all three"
      if bad == 0 else f"  {bad} tile/source pairs DIFFER: the comparison below is not like for like")
st, body, enc = get(martin, f"/pyramid/{dense}", gzip=True)
st2, body2, enc2 = get(civmap, f"/tiles/problems/{dense}.mvt", gzip=True)
print(f"  with Accept-Encoding: gzip, densest z14 tile: civmap {st2} Content-Encoding {enc2} "
      f"{len(body2)} bytes; martin {st} Content-Encoding {enc} {len(body)} bytes")
PY

# Queries martin left running in PostgreSQL when wrk stopped (a live z10 tile takes seconds)
# are cancelled before the next run.
pg_quiet() {
  psql -Atq "$PGURL/$PGDB" -c "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE datname = '$PGDB' AND state = 'active' AND pid <> pg_backend_pid()" > /dev/null
  for _ in $(seq 1 120); do
    [ "$(psql -Atq "$PGURL/$PGDB" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$PGDB' AND state = 'active' AND pid <> pg_backend_pid()")" = 0 ] && return
    sleep 0.5
  done
}
run() { # name url prefix suffix nocache paths-file [gzip: 1 (default) or 0]
  local before
  before=$(cut -d' ' -f1 /proc/loadavg)
  PATHS="$6" PREFIX="$3" SUFFIX="$4" NOCACHE="$5" GZIP="${7:-1}" \
    wrk -t2 -c32 -d"${SECS}s" --timeout 10s -s tests/bench/tiles.lua "$2" > "$WORK/$1.txt"
  [ "$2" = "$MARTIN_URL" ] && pg_quiet
  echo "  $1: $(awk '/Requests\/sec/ {print $2}' "$WORK/$1.txt") tiles/s (load before $before, after $(cut -d' ' -f1 /proc/loadavg))"
}
rps() { awk '/Requests\/sec/ {print $2}' "$WORK/$1.txt"; }

ALL=$WORK/paths.txt CL=$WORK/paths-clusters.txt PT=$WORK/paths-points.txt
echo "tiles: warming up (5 s each)"
SECS_SAVED=$SECS; SECS=5
run warm-civmap "$CIVMAP" /tiles/problems .mvt 1 "$ALL" >/dev/null
run warm-martin "$MARTIN_URL" /pyramid "" 0 "$ALL" >/dev/null
SECS=$SECS_SAVED

echo "tiles: cache off, $SECS s per run ($(uptime | sed 's/.*load/load/'))"
for set in all:$ALL clusters:$CL points:$PT; do
  name=${set%%:*} file=${set#*:}
  run "off-civmap-$name" "$CIVMAP" /tiles/problems .mvt 1 "$file"
  run "off-pyramid-$name" "$MARTIN_URL" /pyramid "" 0 "$file"
  run "off-live-$name" "$MARTIN_URL" /live "" 0 "$file"
done

echo "tiles: restarting martin with a 512 MB tile cache"
stop_martin
start_martin 512

echo "tiles: warm pass over the whole list on both, then a second pass on civmap counting its cache hits"
python3 - "$CIVMAP" "$MARTIN_URL" "$ALL" <<'PY'
import http.client, sys, threading, urllib.parse
civmap, martin, listfile = sys.argv[1:4]
paths = [l.strip() for l in open(listfile) if l.strip()]
def sweep(base, fmt):
    u = urllib.parse.urlparse(base)
    total, hits, lock = [0, 0], [0], threading.Lock()
    uniq = {}
    def work(part):
        c = http.client.HTTPConnection(u.hostname, u.port)
        for p in part:
            c.request("GET", fmt.format(p), headers={"Accept-Encoding": "gzip"})
            r = c.getresponse(); b = r.read()
            with lock:
                total[0] += 1
                uniq[p] = len(b)
                if "encode" not in (r.getheader("Server-Timing") or ""):
                    hits[0] += 1
    ts = [threading.Thread(target=work, args=(paths[i::8],)) for i in range(8)]
    [t.start() for t in ts]; [t.join() for t in ts]
    return total[0], hits[0], len(uniq), sum(uniq.values())
for name, base, fmt in (("civmap", civmap, "/tiles/problems/{}.mvt"), ("martin", martin, "/pyramid/{}")):
    n, _, u, size = sweep(base, fmt)
    print(f"  {name}: {n} requests, {u} distinct tiles, {size / 1e6:.1f} MB gzipped in all")
n, hits, _, _ = sweep(civmap, "/tiles/problems/{}.mvt")
print(f"  civmap second pass: {hits} of {n} answered from its cache ({100 * hits / n:.1f} %)")
PY

echo "tiles: cache on, $SECS s per run ($(uptime | sed 's/.*load/load/'))"
for set in all:$ALL clusters:$CL points:$PT; do
  name=${set%%:*} file=${set#*:}
  run "on-civmap-$name" "$CIVMAP" /tiles/problems .mvt 0 "$file"
  run "on-pyramid-$name" "$MARTIN_URL" /pyramid "" 0 "$file"
done
echo "tiles: cache on, no Accept-Encoding (each server keeps or makes the uncompressed form)"
for set in all:$ALL points:$PT; do
  name=${set%%:*} file=${set#*:}
  run "raw-civmap-$name" "$CIVMAP" /tiles/problems .mvt 0 "$file" 0
  run "raw-pyramid-$name" "$MARTIN_URL" /pyramid "" 0 "$file" 0
done

echo "tiles: encode time of the densest and the median z14 tiles (Server-Timing, 500 uncached requests each), and p50 per zoom over the list"
python3 - "$CIVMAP" "$DENSE" "$MEDIAN" "$ALL" "$DENSE_N" "$MEDIAN_N" <<'PY'
import http.client, statistics, sys, urllib.parse
base, dense, median, listfile, dense_n, median_n = sys.argv[1:7]
u = urllib.parse.urlparse(base)
c = http.client.HTTPConnection(u.hostname, u.port)
def timing(tile):
    c.request("GET", f"/tiles/problems/{tile}.mvt",
              headers={"Cache-Control": "no-cache", "Accept-Encoding": "gzip"})
    r = c.getresponse(); r.read()
    h = r.getheader("Server-Timing", "")
    if not h:
        return None
    t = dict(p.strip().split(";dur=") for p in h.split(","))
    return float(t["encode"]), float(t["gzip"])
for name, tile, n in (("densest", dense, dense_n), ("median", median, median_n)):
    enc, gz = [], []
    for _ in range(500):
        e, g = timing(tile)
        enc.append(e); gz.append(g)
    enc.sort(); gz.sort()
    print(f"  {name} z14 tile {tile} ({n} points): encode p50 {statistics.median(enc):.3f} ms, "
          f"p99 {enc[int(len(enc) * 0.99)]:.3f} ms; gzip p50 {statistics.median(gz):.3f} ms")
paths = [l.strip() for l in open(listfile) if l.strip()]
line = []
for z in range(10, 17):
    enc = [t[0] for t in (timing(p) for p in [p for p in paths if p.startswith(f"{z}/")][:300]) if t]
    line.append(f"z{z} {statistics.median(enc):.3f}")
print("  encode p50 per zoom (300 tiles of the list each, ms): " + ", ".join(line))
PY

echo
echo "== results ($N problems, ${SECS}s per run, $(nproc) cores shared by wrk, PostgreSQL and the servers; $("$MARTIN" --version)) =="
for f in off-{civmap,pyramid,live}-{all,clusters,points} on-{civmap,pyramid}-{all,clusters,points} raw-{civmap,pyramid}-{all,points}; do
  printf "%-22s %10s tiles/s   " "$f" "$(rps "$f")"
  grep -h "latency p50\|non-2xx\|Socket errors" "$WORK/$f.txt" | tr '\n' ' '
  echo
done
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.1f}x' if b else 'inf')" "$1" "$2"; }
for name in all clusters points; do
  case $name in all) what="z10-16";; clusters) what="z10-13 cluster tiles";; points) what="z14-16 point tiles";; esac
  echo "ratio $what, cache off: civmap / martin live $(ratio "$(rps off-civmap-$name)" "$(rps off-live-$name)"), civmap / martin pyramid $(ratio "$(rps off-civmap-$name)" "$(rps off-pyramid-$name)")"
  echo "ratio $what, cache on:  civmap / martin pyramid $(ratio "$(rps on-civmap-$name)" "$(rps on-pyramid-$name)")"
  [ -f "$WORK/raw-civmap-$name.txt" ] &&
    echo "ratio $what, cache on, no gzip: civmap / martin pyramid $(ratio "$(rps raw-civmap-$name)" "$(rps raw-pyramid-$name)")"
done
echo "civmap RSS: $(ps -o rss= -p "$CIVMAP_PID" | awk '{printf "%.0f MB", $1/1024}'), martin RSS: $(ps -o rss= -p "$MARTIN_PID" | awk '{printf "%.0f MB", $1/1024}')"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
