// The offline basemap, in one place so it can switch source with a small change.
//
// In order of preference:
// 1. the server's vector tiles: the style at `/tiles/style.json`; its basemap layers (tile-schema
//    layers water, green, buildings, roads, pois, with road and place names drawn from the
//    browser's own fonts) are added beneath this page's overlays, which draw problems, zones and
//    heat from the API themselves;
// 2. the server's basemap as GeoJSON, `GET /api/v1/basemap?bbox=minLon,minLat,maxLon,maxLat`,
//    a FeatureCollection whose features carry `layer` (a tile-schema layer name), `class` and
//    `name`, reloaded as the map moves;
// 3. a plain background.
// Which one exists is read from the server's OpenAPI document, so nothing is probed with
// requests that fail, and nothing is ever loaded from the internet: no remote tiles, no glyphs
// (MapLibre >= 5.11 draws any label text locally when the style has no `glyphs` URL).

import type { GeoJSONSource, LayerSpecification, Map as MlMap, SourceSpecification, StyleSpecification } from 'maplibre-gl';
import type { FeatureCollection } from 'geojson';
import { ApiError, apiPaths, query, request } from '../api';

export type BasemapKind = 'tiles' | 'geojson' | 'plain';

const BACKGROUND = '#f2efe9';

/** Tile-schema layers that make the basemap (`crates/tiles/src/schema.rs`). */
const BASEMAP_LAYERS = new Set(['water', 'green', 'buildings', 'roads', 'pois']);

/** Attribution of every basemap: the data is OpenStreetMap's (ODbL). */
export const OSM_ATTRIBUTION = '© <a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener">OpenStreetMap</a> contributors';

/** The style the map starts with: a background only; the basemap is added beneath the overlays. */
export function plainStyle(): StyleSpecification {
  return {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': BACKGROUND } }],
  };
}

/** Basemap layers drawing the tile schema from a GeoJSON source with a `layer` property. */
function geojsonLayers(source: string): LayerSpecification[] {
  const onLayer = (name: string) => ['==', ['get', 'layer'], name] as ['==', ['get', string], string];
  return [
    {
      id: 'bm-water',
      type: 'fill',
      source,
      filter: ['all', onLayer('water'), ['==', ['geometry-type'], 'Polygon']],
      paint: { 'fill-color': '#aad3df' },
    },
    {
      id: 'bm-waterway',
      type: 'line',
      source,
      filter: ['all', onLayer('water'), ['==', ['geometry-type'], 'LineString']],
      paint: { 'line-color': '#aad3df', 'line-width': 2 },
    },
    {
      id: 'bm-green',
      type: 'fill',
      source,
      filter: onLayer('green'),
      paint: { 'fill-color': '#cdebb0', 'fill-opacity': 0.9 },
    },
    {
      id: 'bm-buildings',
      type: 'fill',
      source,
      filter: onLayer('buildings'),
      paint: { 'fill-color': '#d9d0c9', 'fill-outline-color': '#c4b6ab' },
    },
    {
      id: 'bm-roads-casing',
      type: 'line',
      source,
      filter: ['all', onLayer('roads'), ['!=', ['get', 'class'], 'path']],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': '#bbb',
        'line-width': ['interpolate', ['exponential', 1.6], ['zoom'], 12, 1.5, 18, 22],
      },
    },
    {
      id: 'bm-roads',
      type: 'line',
      source,
      filter: onLayer('roads'),
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': ['match', ['get', 'class'], ['motorway', 'trunk', 'primary'], '#fcd6a4', ['secondary', 'tertiary'], '#f7fabf', 'path', '#e0d6cc', '#ffffff'],
        'line-width': [
          'interpolate',
          ['exponential', 1.6],
          ['zoom'],
          12,
          ['match', ['get', 'class'], 'path', 0.5, 1],
          18,
          ['match', ['get', 'class'], 'path', 3, ['motorway', 'trunk', 'primary'], 20, 16],
        ],
      },
    },
  ];
}

/**
 * Makes the URLs of a server style absolute (MapLibre wants absolute source URLs). URLs that
 * are absolute already are kept as they are: `new URL()` would percent-encode the `{z}/{x}/{y}`
 * placeholders of tile URLs, which MapLibre then no longer fills in.
 */
function absolutise(style: StyleSpecification): StyleSpecification {
  const abs = (u: string) =>
    /^[a-z][a-z0-9+.-]*:/i.test(u) ? u : new URL(u, location.href).href.replace(/%7B/gi, '{').replace(/%7D/gi, '}');
  for (const src of Object.values(style.sources)) {
    const s = src as { url?: string; tiles?: string[] };
    if (typeof s.url === 'string') s.url = abs(s.url);
    if (Array.isArray(s.tiles)) s.tiles = s.tiles.map(abs);
  }
  if (typeof style.glyphs === 'string') style.glyphs = abs(style.glyphs);
  if (typeof style.sprite === 'string') style.sprite = abs(style.sprite);
  return style;
}

let serverStyle: Promise<StyleSpecification | null> | null = null;

/**
 * Starts loading the server's style (once) and answers it, or `null` when the server declares
 * none. Called as the page boots, so the basemap's tiles can be asked for as soon as the map
 * exists instead of after the rest of the start-up: each part that arrives late costs a redraw.
 */
export function prefetchStyle(): Promise<StyleSpecification | null> {
  // Asked for directly, not after the OpenAPI document says it exists: that document is the
  // largest answer the page loads, and waiting for it put half a second before every tile.
  serverStyle ??= request<StyleSpecification>('/tiles/style.json').then(absolutise, (e: unknown) => {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  });
  return serverStyle;
}

/**
 * Adds the best basemap this server offers beneath the lowest overlay layer (`lowestOverlay`,
 * asked when the layers are added) and answers which one it used.
 */
export async function addBasemap(map: MlMap, lowestOverlay: () => string | undefined): Promise<BasemapKind> {
  // Asked once the style is here: the overlays may have been added while it loaded.
  const beneath = () => {
    const id = lowestOverlay();
    return id && map.getLayer(id) ? id : undefined;
  };
  try {
    const style = await prefetchStyle();
    if (!style) throw new Error('the server has no style');
    const before = beneath();
    // Only the basemap's layers: this page draws problems, zones and heat from the API.
    const layers = style.layers.filter((layer) => {
      const sourceLayer = (layer as { 'source-layer'?: string })['source-layer'];
      return layer.type !== 'background' && sourceLayer !== undefined && BASEMAP_LAYERS.has(sourceLayer) && !map.getLayer(layer.id);
    });
    // ... and only the sources they use (the style also declares the overlay tile sources).
    const used = new Set(layers.map((layer) => (layer as { source?: string }).source));
    for (const [id, src] of Object.entries(style.sources)) {
      if (!used.has(id) || map.getSource(id)) continue;
      // The map already credits OpenStreetMap (OSM_ATTRIBUTION): not a second time.
      const source = { ...src } as SourceSpecification & { attribution?: string };
      delete source.attribution;
      map.addSource(id, source);
    }
    for (const layer of layers) map.addLayer(layer, before);
    return 'tiles';
  } catch (e) {
    console.warn('the server style could not be used; trying the next basemap', e);
  }
  const paths = await apiPaths();
  if (paths.has('/api/v1/basemap')) {
    const before = beneath();
    map.addSource('basemap', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    for (const layer of geojsonLayers('basemap')) map.addLayer(layer, before);
    let loaded: [number, number, number, number] | null = null;
    const reload = async () => {
      const b = map.getBounds();
      const inside =
        loaded && b.getWest() >= loaded[0] && b.getSouth() >= loaded[1] && b.getEast() <= loaded[2] && b.getNorth() <= loaded[3];
      if (inside || map.getZoom() < 12) return;
      // Load twice the visible area so small pans need no request.
      const w = b.getEast() - b.getWest();
      const h = b.getNorth() - b.getSouth();
      const box: [number, number, number, number] = [b.getWest() - w / 2, b.getSouth() - h / 2, b.getEast() + w / 2, b.getNorth() + h / 2];
      try {
        const fc = await request<FeatureCollection>(`/api/v1/basemap${query({ bbox: box.map((v) => v.toFixed(5)).join(',') })}`);
        (map.getSource('basemap') as GeoJSONSource | undefined)?.setData(fc);
        loaded = box;
      } catch (e) {
        console.warn('basemap not loaded', e);
      }
    };
    map.on('moveend', () => void reload());
    await reload();
    return 'geojson';
  }
  return 'plain';
}
