// The field app without a network: the service worker (built by vite-plugin-pwa with Workbox,
// configured in vite.config.mjs) is registered in production builds, and on sign-in of a
// reporter or a chief its cache is warmed with what the map needs to open offline — the reads
// the page made before the worker took over, and the basemap and problem tiles of the person's
// own zones (zoom 14–16 over their bounding box, at most `MAX_WARM_TILES`). The caching itself
// is Workbox's; this module only asks for the URLs once.

import { signal } from '@preact/signals';
import type { Map as MlMap } from 'maplibre-gl';
import { getZone } from './api';
import { readsMade } from './api/client';
import type { Me } from './api';
import { prefetchStyle } from './map/basemap';

/** The zooms warmed: a street at walking scale. */
const WARM_MIN_ZOOM = 14;
const WARM_MAX_ZOOM = 16;
/** The most tiles warmed per sign-in (per tile layer): a street's zones at z16 are ~200. */
export const MAX_WARM_TILES = 600;
/** Tile layers warmed (`/tiles/{layer}/…`): what the map draws beneath and of the problems. */
const WARM_LAYERS = ['basemap', 'problems'];
/** Reads made before the worker controlled the page are asked again, at most this many. */
const MAX_REFETCH = 200;
/** Who is signed in: read by the page as it opens. */
const ME_PATH = '/api/v1/me';
/** Requests in flight while warming: the phone keeps answering the person meanwhile. */
const WARM_PARALLEL = 4;

/** True once the map of the signed-in person's zones is cached (the page says so). */
export const offlineReady = signal(false);
let resolveReady: () => void = () => undefined;
/** Resolves when `offlineReady` turns true (read by the browser tests). */
export const offlineReadyPromise = new Promise<void>((r) => (resolveReady = r));

/** Registers the service worker in production builds (the dev server has none). */
export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('./sw.js', { scope: './' }).catch((e: unknown) => console.warn('the service worker was not registered', e));
}

/** Resolves once a service worker controls the page (`null` when there will be none). */
function controlled(): Promise<ServiceWorker | null> {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return Promise.resolve(null);
  const sw = navigator.serviceWorker;
  if (sw.controller) return Promise.resolve(sw.controller);
  return new Promise((resolve) => sw.addEventListener('controllerchange', () => resolve(sw.controller), { once: true }));
}

/** Slippy-map tile numbers of a longitude/latitude at zoom `z`. */
function tileOf(lon: number, lat: number, z: number): [number, number] {
  const n = 2 ** z;
  const x = Math.floor(((lon + 180) / 360) * n);
  const r = (lat * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  return [Math.min(n - 1, Math.max(0, x)), Math.min(n - 1, Math.max(0, y))];
}

type BBox = [number, number, number, number];

/** The tiles covering `b` from the lowest zoom up, while the total stays within `max`. */
export function tilesOver(b: BBox, minZoom: number, maxZoom: number, max: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let z = minZoom; z <= maxZoom; z++) {
    const [x0, y0] = tileOf(b[0], b[3], z);
    const [x1, y1] = tileOf(b[2], b[1], z);
    const n = (x1 - x0 + 1) * (y1 - y0 + 1);
    if (out.length + n > max) break;
    for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) out.push([z, x, y]);
  }
  return out;
}

function extend(b: BBox | null, coords: unknown): BBox | null {
  if (Array.isArray(coords) && typeof coords[0] === 'number' && typeof coords[1] === 'number') {
    const [x, y] = coords as [number, number];
    return b ? [Math.min(b[0], x), Math.min(b[1], y), Math.max(b[2], x), Math.max(b[3], y)] : [x, y, x, y];
  }
  if (Array.isArray(coords)) for (const c of coords) b = extend(b, c);
  return b;
}

/** The bounding box of the person's zones, else of the map's view. */
async function areaOf(me: Me, map: MlMap): Promise<BBox> {
  let b: BBox | null = null;
  for (const id of me.zones) {
    try {
      const z = await getZone(id);
      b = extend(b, (z.geometry as { coordinates?: unknown } | null)?.coordinates);
    } catch {
      // A zone that cannot be read now is warmed at the next sign-in.
    }
  }
  if (b) return b;
  const v = map.getBounds();
  return [v.getWest(), v.getSouth(), v.getEast(), v.getNorth()];
}

/** Fetches `urls`, `WARM_PARALLEL` at a time; failures are skipped (the next visit fills in). */
async function fetchAll(urls: string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < urls.length) {
      const url = urls[next++]!;
      try {
        await fetch(url, { credentials: 'same-origin' });
      } catch {
        // Offline meanwhile: what was fetched stays cached.
      }
    }
  };
  await Promise.all(Array.from({ length: WARM_PARALLEL }, worker));
}

/** The reads the page made (some before the worker controlled it, which it did not see). */
function earlierReads(): string[] {
  return readsMade()
    .filter((p) => p.startsWith('/api/v1/') || p.startsWith('/tiles/'))
    .slice(0, MAX_REFETCH);
}

let warmed: string | null = null;

/**
 * Warms the cache for a signed-in person (once per person and page): the page's earlier reads,
 * then the tiles of their zones. Without a service worker it does nothing.
 */
export async function warmFor(me: Me, map: MlMap): Promise<void> {
  if (warmed === me.name) return;
  warmed = me.name;
  if (!(await controlled())) return;
  // Who is signed in: the page asks it first when it opens (it signed in with a POST).
  await fetchAll([ME_PATH, ...earlierReads()]);
  const style = await prefetchStyle().catch(() => null);
  const bbox = await areaOf(me, map);
  const urls: string[] = [];
  for (const layer of WARM_LAYERS) {
    const src = style ? Object.values(style.sources).find((s) => 'tiles' in s && s.tiles?.some((t) => t.includes(`/tiles/${layer}/`))) : undefined;
    const template = (src && 'tiles' in src && src.tiles?.[0]) || `${location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt`;
    const lo = Math.max(WARM_MIN_ZOOM, (src as { minzoom?: number } | undefined)?.minzoom ?? 0);
    const hi = Math.min(WARM_MAX_ZOOM, (src as { maxzoom?: number } | undefined)?.maxzoom ?? WARM_MAX_ZOOM);
    for (const [z, x, y] of tilesOver(bbox, lo, hi, MAX_WARM_TILES)) {
      urls.push(template.replace('{z}', String(z)).replace('{x}', String(x)).replace('{y}', String(y)));
    }
  }
  await fetchAll(urls);
  offlineReady.value = true;
  resolveReady();
}
