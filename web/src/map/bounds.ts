// Bounds of a zone, for "show me this zone" (fitBounds). WGS-84, [minLon, minLat, maxLon, maxLat].

import type { LngLatBoundsLike } from 'maplibre-gl';
import type { ZoneFeature } from '../api';

/** Bounds of a zone polygon, for "show me this zone". */
export function zoneBounds(z: ZoneFeature): LngLatBoundsLike | null {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const polys = z.geometry.type === 'Polygon' ? [z.geometry.coordinates] : z.geometry.coordinates;
  for (const poly of polys)
    for (const ring of poly)
      for (const [x, y] of ring as [number, number][]) {
        minX = Math.min(minX, x);
        minY = Math.min(minY, y);
        maxX = Math.max(maxX, x);
        maxY = Math.max(maxY, y);
      }
  return Number.isFinite(minX) ? [minX, minY, maxX, maxY] : null;
}
