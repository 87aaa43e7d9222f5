#!/usr/bin/env python3
"""Input of the tile benchmark (tests/bench/tiles.sh), seeded so every run is the same:

    tiles_gen.py N OUTDIR

writes
  OUTDIR/problems.csv   N synthetic, clearly labelled problem points over central Shanghai
                        (about 30 km x 30 km): half uniform, half around 400 hot spots, the way
                        reports bunch up at school gates and markets; a UUID key per point (the
                        same 36-character id the server's tiles carry), a category (two of them
                        indoor, generalised in public tiles), a report time.
  OUTDIR/paths.txt      the fixed tile list: 2,000 points sampled from the data (so tiles are
                        asked where the problems are, as users look), and for each the tile
                        containing it at every zoom 10..16, shuffled: 14,000 "z/x/y" lines,
                        equal numbers per zoom (low zooms repeat, as many users share them).
  OUTDIR/densest.txt    "z/x/y count" of the z14 tile holding the most points, and of the
                        median non-empty z14 tile.
"""
import csv
import math
import os
import random
import sys
import uuid

CATEGORIES = [
    "illegal_parking", "misparked_bikes", "abandoned_bikes", "ad_posters", "garbage",
    "greenbelt_litter", "street_vending", "clutter", "zombie_car",
    "stairwell_clutter", "flying_wire_charging",  # indoor: generalised to 50 m in tiles
]
W, S, E, N = 121.30, 31.10, 121.62, 31.38
ZOOMS = range(10, 17)
SAMPLES = 2000


def tile_of(lon, lat, z):
    n = 2 ** z
    x = (lon + 180.0) / 360.0 * n
    lat_r = math.radians(lat)
    y = (1.0 - math.log(math.tan(lat_r) + 1.0 / math.cos(lat_r)) / math.pi) / 2.0 * n
    return int(x), int(y)


def main() -> None:
    n, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(20261107)
    spots = [(rng.uniform(W, E), rng.uniform(S, N)) for _ in range(400)]
    points = []
    with open(os.path.join(out, "problems.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["key", "lon", "lat", "category", "created", "text"])
        for i in range(n):
            if i % 2:
                lon, lat = rng.uniform(W, E), rng.uniform(S, N)
            else:
                cx, cy = spots[rng.randrange(len(spots))]
                lon, lat = rng.gauss(cx, 0.004), rng.gauss(cy, 0.004)
                lon, lat = min(max(lon, W), E), min(max(lat, S), N)
            key = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            day = 1 + i % 28
            w.writerow([
                key, f"{lon:.7f}", f"{lat:.7f}", rng.choice(CATEGORIES),
                f"2026-10-{day:02d} 09:{i % 60:02d}:00", "synthetic tile-benchmark point",
            ])
            points.append((lon, lat))
    paths = []
    for lon, lat in rng.sample(points, min(SAMPLES, len(points))):
        for z in ZOOMS:
            x, y = tile_of(lon, lat, z)
            paths.append(f"{z}/{x}/{y}")
    rng.shuffle(paths)
    with open(os.path.join(out, "paths.txt"), "w") as f:
        f.write("\n".join(paths) + "\n")
    counts = {}
    for lon, lat in points:
        t = tile_of(lon, lat, 14)
        counts[t] = counts.get(t, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: kv[1])
    (dx, dy), dn = ranked[-1]
    (mx, my), mn = ranked[len(ranked) // 2]
    with open(os.path.join(out, "densest.txt"), "w") as f:
        f.write(f"14/{dx}/{dy} {dn}\n14/{mx}/{my} {mn}\n")


if __name__ == "__main__":
    main()
