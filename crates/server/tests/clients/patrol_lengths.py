#!/usr/bin/env python3
"""Length of lines inside zones with shapely, in a local metric projection: the check of the
patrol test's per-zone walked and road lengths.

Input (argv[1], JSON): {"zones": {key: GeoJSON geometry}, "lines": {key: [[[lon, lat], ...], ...]}}
Output (stdout, JSON): {zone key: {line key: metres}}.

The projection is an azimuthal equidistant one around the zones' centre when pyproj is there,
else a local equirectangular one (x = R·cos(lat0)·Δlon, y = R·Δlat), whose scale error over a
few kilometres is under 0.1 %.
"""

import json
import math
import sys

from shapely.geometry import MultiLineString, shape
from shapely.ops import transform

R = 6371008.8


def main():
    data = json.load(open(sys.argv[1], encoding="utf-8"))
    zones = {k: shape(g) for k, g in data["zones"].items()}
    xs = [c for z in zones.values() for c in z.bounds[0::2]]
    ys = [c for z in zones.values() for c in z.bounds[1::2]]
    lon0, lat0 = sum(xs) / len(xs), sum(ys) / len(ys)
    kx = R * math.cos(math.radians(lat0)) * math.pi / 180
    ky = R * math.pi / 180

    def proj(x, y, z=None):
        return ((x - lon0) * kx, (y - lat0) * ky)

    out = {}
    for zk, z in zones.items():
        zm = transform(proj, z)
        out[zk] = {}
        for lk, parts in data["lines"].items():
            lm = transform(proj, MultiLineString([p for p in parts if len(p) >= 2]))
            out[zk][lk] = zm.intersection(lm).length
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
