#!/usr/bin/env python3
"""Synthetic, clearly labelled problem points for load tests: N rows of CSV (seeded, so every run
loads the same set) over a city-sized area of Shanghai, half uniform and half clustered around
a few hundred hot spots (market gates, school gates), the way real reports bunch up.

    gen_problems.py N OUT.csv
    gen_problems.py N OUT.geojson     the same points as one GeoJSON FeatureCollection (the same
                                      properties; load_mapping.toml reads both)
"""
import csv
import json
import random
import sys

CATEGORIES = [
    "illegal_parking", "misparked_bikes", "zombie_car", "abandoned_bikes", "ad_posters",
    "flying_wire_charging", "garbage", "greenbelt_litter", "illegal_construction",
    "street_vending", "dog_nuisance", "blocked_fire_lane", "illegal_billboard",
]
# Central Shanghai, about 30 km x 30 km.
W, S, E, N = 121.30, 31.10, 121.62, 31.38


def rows(n: int):
    rng = random.Random(20261121)
    spots = [(rng.uniform(W, E), rng.uniform(S, N)) for _ in range(400)]
    for i in range(n):
        if i % 2:
            lon, lat = rng.uniform(W, E), rng.uniform(S, N)
        else:
            cx, cy = spots[rng.randrange(len(spots))]
            lon, lat = rng.gauss(cx, 0.004), rng.gauss(cy, 0.004)
            lon, lat = min(max(lon, W), E), min(max(lat, S), N)
        day = 1 + i % 28
        yield (f"load-{i}", f"{lon:.7f}", f"{lat:.7f}", rng.choice(CATEGORIES),
               f"2026-10-{day:02d} 09:{i % 60:02d}:00", "synthetic load-test point")


def main() -> None:
    n, out = int(sys.argv[1]), sys.argv[2]
    with open(out, "w", newline="") as f:
        if out.endswith(".geojson") or out.endswith(".json"):
            # Written feature by feature: the generator never holds the collection either.
            f.write('{"type":"FeatureCollection","features":[\n')
            for i, (key, lon, lat, cat, created, text) in enumerate(rows(n)):
                feature = {"type": "Feature",
                           "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
                           "properties": {"key": key, "category": cat, "created": created, "text": text}}
                f.write(("," if i else "") + json.dumps(feature, ensure_ascii=False) + "\n")
            f.write("]}\n")
            return
        w = csv.writer(f)
        w.writerow(["key", "lon", "lat", "category", "created", "text"])
        for row in rows(n):
            w.writerow(row)


if __name__ == "__main__":
    main()
