// The URL hash holds the view and its shareable state:
//   #map=15/31.28500/121.49700&cat=garbage,clutter&status=open&period=30&heat=1&lang=en
//   #/report?map=17/31.28500/121.49700
// `map=zoom/lat/lon` follows the usual web-map convention (OSM, MapLibre's `hash` option);
// everything else in the app is lon, lat (RFC 7946).

/** A view name (`''` is the public map) and its parameters. */
export interface HashState {
  route: string;
  params: URLSearchParams;
}

/** Parses `location.hash`. */
export function readHash(hash: string = location.hash): HashState {
  let h = hash.replace(/^#/, '');
  let route = '';
  if (h.startsWith('/')) {
    const q = h.indexOf('?');
    route = (q < 0 ? h.slice(1) : h.slice(1, q)).replace(/\/+$/, '');
    h = q < 0 ? '' : h.slice(q + 1);
  }
  return { route, params: new URLSearchParams(h) };
}

/** The hash for `state` (URLSearchParams escapes `/` and `,`; both are safe in a fragment). */
export function formatHash(state: HashState): string {
  const q = state.params
    .toString()
    .replace(/%2F/gi, '/')
    .replace(/%2C/gi, ',');
  if (state.route) return `#/${state.route}${q ? `?${q}` : ''}`;
  return q ? `#${q}` : '#';
}

/** Replaces the hash without adding a history entry (map moves would flood the history). */
export function replaceHash(state: HashState): void {
  const next = formatHash(state);
  if (next !== location.hash) history.replaceState(history.state, '', next);
}

/** A map position from `map=zoom/lat/lon`, or `null` when absent or out of range. */
export function parseMapParam(v: string | null): { zoom: number; lon: number; lat: number } | null {
  if (!v) return null;
  const parts = v.split('/').map(Number);
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x))) return null;
  const [zoom, lat, lon] = parts as [number, number, number];
  if (zoom < 0 || zoom > 24 || Math.abs(lat) > 85.06 || Math.abs(lon) > 180) return null;
  return { zoom, lon, lat };
}

/** `map=zoom/lat/lon` with the precision MapLibre's own `hash` option uses (half a pixel). */
export function formatMapParam(zoom: number, lon: number, lat: number): string {
  const digits = Math.max(0, Math.ceil((zoom * Math.LN2 + Math.log(512 / 360 / 0.5)) / Math.LN10));
  return `${zoom.toFixed(2)}/${lat.toFixed(digits)}/${lon.toFixed(digits)}`;
}
