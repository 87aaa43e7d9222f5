// The one map of the page and its overlay layers: problems (clustered when zoomed out, coloured by
// category), the heat layer, and three-surroundings zones. Views share this map and change only
// what it shows and what a click does.
//
// Positions are WGS-84 `[lon, lat]` (RFC 7946) everywhere in this module.

import maplibregl from 'maplibre-gl';
import type { GeoJSONSource, Map as MlMap, MapGeoJSONFeature, MapMouseEvent } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import type { Feature, FeatureCollection, Point, Polygon, MultiPolygon } from 'geojson';
import { signal } from '@preact/signals';
import { allProblems, has, isAbort, query, request, zones as fetchZones } from '../api';
import type { Category, ProblemFeature, ProblemFilter, ZoneFeature } from '../api';
import { addBasemap, OSM_ATTRIBUTION, plainStyle } from './basemap';
import type { BasemapKind } from './basemap';
import { categoryColorExpression, SEVERITY_FACTOR, ZONE_COLORS } from '../colors';

/** The demo area: Tongji University / Siping Road, Yangpu, Shanghai. */
export const DEMO_VIEW = { lon: 121.497, lat: 31.285, zoom: 15 };

/** From this zoom on problems are drawn one by one; below, clustered (as the tile schema does). */
export const POINTS_MIN_ZOOM = 14;

/**
 * The public map draws problems one by one only from this zoom on: at its opening zoom (15) the
 * demo street has ~600 problems, which as dots hide the street they are on; as clusters the
 * street names stay readable and a click zooms in.
 */
export const PUBLIC_POINTS_MIN_ZOOM = 16;

/** Largest bbox an anonymous caller may ask for (the server's `limits.anonymous_bbox_deg2`), with margin. */
const ANON_BBOX_DEG2 = 0.24;

/** Overlay layer ids, bottom first. Tests query these. */
export const LAYERS = {
  zonesFill: 'zones-fill',
  zonesLine: 'zones-line',
  heatCells: 'heat-cells',
  heat: 'problems-heat',
  clusters: 'problem-clusters',
  clusterCount: 'problem-cluster-count',
  points: 'problem-points',
  selected: 'problem-selected',
} as const;

export function createMap(container: HTMLElement, view: { lon: number; lat: number; zoom: number }): MlMap {
  const map = new maplibregl.Map({
    container,
    style: plainStyle(),
    center: [view.lon, view.lat],
    zoom: view.zoom,
    maxZoom: 20,
    // Labels (cluster counts) are drawn from local fonts: the style has no `glyphs` URL.
    localIdeographFontFamily: 'sans-serif',
    attributionControl: { compact: false, customAttribution: OSM_ATTRIBUTION },
    dragRotate: false,
    pitchWithRotate: false,
    // Labels appear at once instead of fading in over 300 ms: every frame of a fade is a full
    // redraw, and on a phone (or a software-rendered browser) those frames delayed the first
    // complete map by about a second.
    fadeDuration: 0,
    cooperativeGestures: false,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  return map;
}

/** The longest the first draw waits for the first data: a tile that never comes must not keep the map blank. */
const FIRST_DRAW_HOLD_MS = 4000;

/**
 * Draws nothing until `ready` (the first problems, zones and the basemap handed to the map) and
 * every tile they need has loaded, then draws the whole map once. Without it MapLibre redraws
 * the whole map for each wave of tiles that arrives while the page loads; where WebGL is drawn
 * in software (office PCs without a GPU driver, remote desktops, headless browsers) each of
 * those frames costs 150–300 ms, and six to eight of them delayed the first complete map by a
 * second. Tiles still load, upload and labels are still placed meanwhile; only the layers'
 * drawing waits. `painter.renderLayer` is MapLibre's internal per-layer drawing: when a MapLibre
 * version lacks it, nothing is held. Resolves once the map draws again.
 */
export function holdFirstDraw(map: MlMap, ready: Promise<unknown>): Promise<void> {
  const painter = (map as unknown as { painter?: { renderLayer?: (...a: unknown[]) => unknown } }).painter;
  const draw = painter?.renderLayer;
  if (!painter || typeof draw !== 'function') return Promise.resolve();
  painter.renderLayer = () => undefined;
  return new Promise<void>((resolve) => {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      painter.renderLayer = draw;
      map.triggerRepaint();
      resolve();
    };
    const timer = setTimeout(release, FIRST_DRAW_HOLD_MS);
    // `idle`: every source loaded its tiles and nothing is left to place.
    void ready.then(() => (map.loaded() ? release() : map.once('idle', release)), release);
  });
}

/** The `minLon,minLat,maxLon,maxLat` box to load for the current view, and whether it was clamped. */
export function loadBox(map: MlMap, anonymous: boolean): { box: [number, number, number, number]; clamped: boolean } {
  const b = map.getBounds();
  const w = b.getEast() - b.getWest();
  const h = b.getNorth() - b.getSouth();
  // Half a screen of margin on every side, so small pans need no request.
  let box: [number, number, number, number] = [b.getWest() - w / 2, b.getSouth() - h / 2, b.getEast() + w / 2, b.getNorth() + h / 2];
  let clamped = false;
  const area = (box[2] - box[0]) * (box[3] - box[1]);
  if (anonymous && area > ANON_BBOX_DEG2) {
    const c = map.getCenter();
    const scale = Math.sqrt(ANON_BBOX_DEG2 / area);
    const hw = ((box[2] - box[0]) * scale) / 2;
    const hh = ((box[3] - box[1]) * scale) / 2;
    box = [c.lng - hw, c.lat - hh, c.lng + hw, c.lat + hh];
    clamped = b.getWest() < box[0] || b.getEast() > box[2] || b.getSouth() < box[1] || b.getNorth() > box[3];
  }
  box = [Math.max(-180, box[0]), Math.max(-85, box[1]), Math.min(180, box[2]), Math.min(85, box[3])];
  return { box, clamped };
}

/** Hexagon sizes of the heat layer, metres (the server allows 100–2000 m to the public). */
const HEAT_SIZES = [100, 200, 500, 1000, 2000];
/** About this many hexagons across the loaded box: cells stay visible as cells at any zoom. */
const HEAT_TARGET_CELLS = 4000;

/** The smallest hexagon size that keeps the box under `HEAT_TARGET_CELLS` cells. */
export function heatCellSize(box: [number, number, number, number]): number {
  const mid = ((box[1] + box[3]) / 2) * (Math.PI / 180);
  const w = (box[2] - box[0]) * 111_320 * Math.cos(mid);
  const h = (box[3] - box[1]) * 111_320;
  for (const s of HEAT_SIZES) {
    if ((w * h) / ((Math.sqrt(3) / 2) * s * s) <= HEAT_TARGET_CELLS) return s;
  }
  return HEAT_SIZES[HEAT_SIZES.length - 1] as number;
}

function contains(outer: [number, number, number, number], map: MlMap): boolean {
  const b = map.getBounds();
  return b.getWest() >= outer[0] && b.getSouth() >= outer[1] && b.getEast() <= outer[2] && b.getNorth() <= outer[3];
}

const EMPTY: FeatureCollection = { type: 'FeatureCollection', features: [] };

export interface LoadState {
  loading: boolean;
  count: number;
  truncated: boolean;
  clamped: boolean;
  /** Why the last load failed (put in words by `errorText`). */
  error: unknown;
  /** Features per category code, for the legend. */
  perCategory: Map<string, number>;
}

/**
 * Problems of the visible area matching the filters, in a clustered source (circles coloured by
 * category) and an unclustered one (the heat layer). Reloads when the view leaves the loaded box
 * or the filters change.
 */
export class ProblemLayer {
  readonly map: MlMap;
  private cats: Category[];
  private filter: ProblemFilter = {};
  private loadedBox: [number, number, number, number] | null = null;
  private loadedKey = '';
  private inflight: { key: string; box: [number, number, number, number]; abort: AbortController } | null = null;
  private installed = false;
  private hidden = false;
  private heatOn = false;
  private heatCells = false;
  features: ProblemFeature[] = [];
  /** What is loaded, as a signal: the status line and the legend re-render when it changes. */
  readonly status = signal<LoadState>({ loading: false, count: 0, truncated: false, clamped: false, error: null, perCategory: new Map() });
  /** Whether the heat layer is shown, as a signal (the legend shows its key). */
  readonly heatShown = signal(false);
  /** Staff views send the session cookie and see exact positions. */
  auth = false;
  /** The highest zoom at which problems are clustered (see `setClusterMaxZoom`). */
  private clusterMaxZoom = POINTS_MIN_ZOOM - 1;
  /** What a click on a problem does (the public map opens a popup). */
  onSelect: ((f: ProblemFeature, at: [number, number]) => void) | null = null;
  /** Resolves after the first load has been handed to the map. */
  readonly firstLoad: Promise<void>;
  private resolveFirst: () => void = () => undefined;

  constructor(map: MlMap, cats: Category[]) {
    this.map = map;
    this.cats = cats;
    this.firstLoad = new Promise((r) => (this.resolveFirst = r));
  }

  /** Adds sources and layers; call once the style is loaded. */
  install(): void {
    const map = this.map;
    map.addSource('problems', {
      type: 'geojson',
      data: EMPTY,
      cluster: true,
      clusterMaxZoom: this.clusterMaxZoom,
      clusterRadius: 48,
      promoteId: 'id',
    });
    map.addSource('problems-all', { type: 'geojson', data: EMPTY });
    map.addSource('heat-cells', { type: 'geojson', data: EMPTY });
    map.addSource('selected', { type: 'geojson', data: EMPTY });

    map.addLayer({
      id: LAYERS.heatCells,
      type: 'fill',
      source: 'heat-cells',
      layout: { visibility: 'none' },
      paint: {
        'fill-color': ['interpolate', ['linear'], ['get', 'norm'], 0, '#fff5b1', 0.35, '#fdae61', 0.7, '#f46d43', 1, '#a50026'],
        'fill-opacity': ['interpolate', ['linear'], ['get', 'norm'], 0, 0.25, 1, 0.7],
        'fill-outline-color': 'rgba(120,0,0,0.25)',
      },
    });
    map.addLayer({
      id: LAYERS.heat,
      type: 'heatmap',
      source: 'problems-all',
      layout: { visibility: 'none' },
      paint: {
        'heatmap-weight': ['interpolate', ['linear'], ['get', 'w'], 0, 0, 3, 1],
        'heatmap-intensity': ['interpolate', ['linear'], ['zoom'], 11, 0.6, 17, 2],
        'heatmap-radius': ['interpolate', ['exponential', 1.5], ['zoom'], 11, 8, 15, 28, 18, 70],
        'heatmap-opacity': 0.75,
        'heatmap-color': [
          'interpolate',
          ['linear'],
          ['heatmap-density'],
          0,
          'rgba(255,255,178,0)',
          0.15,
          'rgba(254,217,118,0.7)',
          0.4,
          'rgb(253,141,60)',
          0.7,
          'rgb(240,59,32)',
          1,
          'rgb(189,0,38)',
        ],
      },
    });
    map.addLayer({
      id: LAYERS.clusters,
      type: 'circle',
      source: 'problems',
      filter: ['has', 'point_count'],
      paint: {
        'circle-color': ['step', ['get', 'point_count'], '#5b8db8', 20, '#3a6f9e', 100, '#24507a'],
        'circle-radius': ['step', ['get', 'point_count'], 14, 20, 19, 100, 25],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 2,
        'circle-opacity': 0.9,
      },
    });
    map.addLayer({
      id: LAYERS.clusterCount,
      type: 'symbol',
      source: 'problems',
      filter: ['has', 'point_count'],
      layout: {
        'text-field': ['get', 'point_count_abbreviated'],
        'text-font': ['sans-serif'],
        'text-size': 13,
        'text-allow-overlap': true,
      },
      paint: { 'text-color': '#ffffff' },
    });
    map.addLayer({
      id: LAYERS.points,
      type: 'circle',
      source: 'problems',
      filter: ['!', ['has', 'point_count']],
      paint: {
        'circle-color': ['case', ['get', 'open'], categoryColorExpression(this.cats), '#ffffff'],
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 4, 16, 6.5, 19, 10],
        'circle-stroke-color': ['case', ['get', 'overdue'], '#e00000', ['get', 'open'], '#ffffff', categoryColorExpression(this.cats)],
        'circle-stroke-width': ['case', ['get', 'overdue'], 2.5, ['get', 'open'], 1.2, 2.2],
      },
    });
    map.addLayer({
      id: LAYERS.selected,
      type: 'circle',
      source: 'selected',
      paint: {
        'circle-color': 'rgba(0,0,0,0)',
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 9, 16, 12, 19, 16],
        'circle-stroke-color': '#111827',
        'circle-stroke-width': 3,
      },
    });

    map.on('click', LAYERS.clusters, (e) => void this.zoomIntoCluster(e));
    map.on('click', LAYERS.points, (e) => this.clickPoint(e));
    for (const id of [LAYERS.clusters, LAYERS.points]) {
      map.on('mouseenter', id, () => (map.getCanvas().style.cursor = 'pointer'));
      map.on('mouseleave', id, () => (map.getCanvas().style.cursor = ''));
    }
    map.on('moveend', () => void this.reload(false));
    this.installed = true;
    // Problems loaded before the style was ready (the first load starts with the page).
    if (this.loadedBox) {
      this.setFeatures(this.features, this.state.truncated, this.state.clamped);
      this.resolveFirst();
    }
  }

  /**
   * Clusters problems up to zoom `z` and draws them one by one above it (the public map clusters
   * further in than the consoles). Set before `install` to avoid clustering twice.
   */
  setClusterMaxZoom(z: number): void {
    if (z === this.clusterMaxZoom) return;
    this.clusterMaxZoom = z;
    this.map.getSource<GeoJSONSource>('problems')?.setClusterOptions({ clusterMaxZoom: z });
  }

  get state(): LoadState {
    return this.status.value;
  }

  private set state(s: LoadState) {
    this.status.value = s;
  }

  /** Installs the basemap beneath every overlay. */
  addBasemap(): Promise<BasemapKind> {
    return addBasemap(this.map, () => firstOverlay(this.map));
  }

  setCategories(cats: Category[]): void {
    this.cats = cats;
    if (this.map.getLayer(LAYERS.points)) {
      this.map.setPaintProperty(LAYERS.points, 'circle-color', ['case', ['get', 'open'], categoryColorExpression(cats), '#ffffff']);
    }
  }

  /**
   * Shows the problems matching `f` (loading only if the filters or the view need it), or none
   * with `null` (a chief who has not chosen a zone yet).
   */
  setFilter(f: ProblemFilter | null): void {
    if (f === null) {
      this.hidden = true;
      this.inflight?.abort.abort();
      this.inflight = null;
      this.loadedBox = null;
      this.loadedKey = '';
      this.setFeatures([], false, false);
      if (this.installed) this.resolveFirst();
      return;
    }
    this.hidden = false;
    this.filter = f;
    void this.reload(false);
  }

  /**
   * Loads the problems of the view unless the loaded set (or a load under way) already covers
   * it; `force` reloads anyway (after changes made elsewhere). May run before `install`.
   */
  async reload(force: boolean): Promise<void> {
    if (this.hidden) return;
    const key = JSON.stringify([this.filter, this.auth]);
    if (!force && key === this.loadedKey && this.loadedBox && contains(this.loadedBox, this.map)) return;
    // A load of the same filters covering the view is under way: let it finish.
    if (this.inflight && this.inflight.key === key && contains(this.inflight.box, this.map)) return;
    this.inflight?.abort.abort();
    const abort = new AbortController();
    const { box, clamped } = loadBox(this.map, !this.auth);
    const mine = { key, box, abort };
    this.inflight = mine;
    this.state = { ...this.state, loading: true, clamped, error: null };
    try {
      const r = await allProblems(
        { ...this.filter, bbox: box.map((v) => v.toFixed(6)).join(',') },
        { auth: this.auth, signal: abort.signal, max: 20000 },
      );
      if (this.inflight !== mine) return;
      if (!this.loadedBox) performance.mark('civmap:problems');
      this.inflight = null;
      this.loadedBox = box;
      this.loadedKey = key;
      this.setFeatures(r.features, r.truncated, clamped);
      if (this.heatOn) await this.loadHeat(box);
    } catch (e) {
      if (this.inflight !== mine || isAbort(e)) return;
      this.inflight = null;
      this.state = { ...this.state, loading: false, error: e };
    } finally {
      if (this.installed) this.resolveFirst();
    }
  }

  private setFeatures(features: ProblemFeature[], truncated: boolean, clamped: boolean): void {
    const weights = new Map(this.cats.map((c) => [c.code, c.weight]));
    for (const f of features) {
      const p = f.properties as ProblemFeature['properties'] & { w?: number };
      p.w = (weights.get(p.category) ?? 1) * (SEVERITY_FACTOR[p.severity] ?? 1);
    }
    this.features = features;
    const fc: FeatureCollection<Point> = { type: 'FeatureCollection', features };
    this.map.getSource<GeoJSONSource>('problems')?.setData(fc);
    // The heat layer's own (unclustered) copy is only kept up to date while it is shown.
    if (this.heatOn) this.map.getSource<GeoJSONSource>('problems-all')?.setData(fc);
    const perCategory = new Map<string, number>();
    for (const f of features) perCategory.set(f.properties.category, (perCategory.get(f.properties.category) ?? 0) + 1);
    this.state = { loading: false, count: features.length, truncated, clamped, error: null, perCategory };
  }

  /** Adds or replaces one problem (after a report or a lifecycle step) without a reload. */
  upsert(f: ProblemFeature): void {
    const i = this.features.findIndex((x) => x.id === f.id);
    const next = [...this.features];
    if (i >= 0) next[i] = f;
    else next.push(f);
    this.setFeatures(next, this.state.truncated, this.state.clamped);
  }

  /** Rings the selected problem (or nothing with `null`). */
  select(f: Feature<Point> | null): void {
    this.map.getSource<GeoJSONSource>('selected')?.setData(f ? { type: 'FeatureCollection', features: [f] } : EMPTY);
  }

  /** Shows or hides the heat layer: the server's heat cells when it has them, else a heatmap of the points. */
  async setHeat(on: boolean): Promise<void> {
    this.heatOn = on;
    this.heatCells = on && (await has('/api/v1/heat/cells'));
    const map = this.map;
    map.setLayoutProperty(LAYERS.heatCells, 'visibility', this.heatCells ? 'visible' : 'none');
    map.setLayoutProperty(LAYERS.heat, 'visibility', on && !this.heatCells ? 'visible' : 'none');
    if (on && !this.heatCells) {
      map.getSource<GeoJSONSource>('problems-all')?.setData({ type: 'FeatureCollection', features: this.features });
    }
    if (this.heatCells && this.loadedBox) await this.loadHeat(this.loadedBox);
    this.heatShown.value = on;
  }

  /** Whether the heat layer is shown. */
  get heat(): boolean {
    return this.heatOn;
  }

  private async loadHeat(box: [number, number, number, number]): Promise<void> {
    if (!this.heatCells) return;
    try {
      // `GET /api/v1/heat/cells`: the non-empty hexagons with `count`, `weight` and `score`
      // (weight per hectare); `max_score` is the largest score.
      const fc = await request<FeatureCollection<Polygon | MultiPolygon, { count: number; weight: number; score: number }>>(
        `/api/v1/heat/cells${query({ shape: 'hex', size_m: heatCellSize(box), bbox: box.map((v) => v.toFixed(6)).join(','), category: this.filter.category, status: this.filter.status, from: this.filter.from })}`,
        { auth: this.auth },
      );
      const max = Math.max(1e-9, ...fc.features.map((f) => f.properties.score));
      for (const f of fc.features) (f.properties as { norm?: number }).norm = f.properties.score / max;
      this.map.getSource<GeoJSONSource>('heat-cells')?.setData(fc);
    } catch (e) {
      console.warn('heat cells not loaded', e);
    }
  }

  private async zoomIntoCluster(e: MapMouseEvent & { features?: MapGeoJSONFeature[] }): Promise<void> {
    const f = e.features?.[0];
    if (!f) return;
    const src = this.map.getSource<GeoJSONSource>('problems');
    const clusterId = f.properties.cluster_id as number;
    if (!src) return;
    const zoom = await src.getClusterExpansionZoom(clusterId);
    const [lon, lat] = (f.geometry as Point).coordinates as [number, number];
    this.map.easeTo({ center: [lon, lat], zoom: Math.max(zoom, this.map.getZoom() + 1) });
  }

  private clickPoint(e: MapMouseEvent & { features?: MapGeoJSONFeature[] }): void {
    const f = e.features?.[0];
    if (!f || !this.onSelect) return;
    const id = f.properties.id as string;
    const full = this.features.find((x) => x.properties.id === id);
    if (!full) return;
    const [lon, lat] = full.geometry.coordinates as [number, number];
    this.onSelect(full, [lon, lat]);
  }
}

function firstOverlay(map: MlMap): string | undefined {
  for (const id of Object.values(LAYERS)) if (map.getLayer(id)) return id;
  return undefined;
}

/** Three-surroundings zones (schools, parks, wet markets) as outlined fills. */
export class ZoneLayer {
  readonly map: MlMap;
  zones: ZoneFeature[] = [];
  error: unknown = null;

  constructor(map: MlMap) {
    this.map = map;
  }

  /** Adds the source and layers beneath the problems; call once the style is loaded. */
  install(): void {
    const map = this.map;
    map.addSource('zones', { type: 'geojson', data: EMPTY });
    const color = ['match', ['get', 'poi_kind'], 'school', ZONE_COLORS.school!, 'park', ZONE_COLORS.park!, 'market', ZONE_COLORS.market!, '#64748b'];
    const before = firstOverlay(map);
    map.addLayer(
      {
        id: LAYERS.zonesFill,
        type: 'fill',
        source: 'zones',
        paint: { 'fill-color': color as never, 'fill-opacity': 0.1 },
      },
      before,
    );
    map.addLayer(
      {
        id: LAYERS.zonesLine,
        type: 'line',
        source: 'zones',
        paint: { 'line-color': color as never, 'line-width': 1.6, 'line-dasharray': [3, 2], 'line-opacity': 0.8 },
      },
      before,
    );
  }

  /**
   * Loads the zones of `kind` (default: three-surroundings zones); `asked` is that request made
   * earlier (at boot), so the first zones arrive with the first problems.
   */
  async load(kind = 'surroundings', auth = false, asked?: Promise<Awaited<ReturnType<typeof fetchZones>>>): Promise<void> {
    try {
      this.zones = await (asked ?? fetchZones(kind, auth));
      this.error = null;
    } catch (e) {
      this.zones = [];
      this.error = e;
    }
    this.map.getSource<GeoJSONSource>('zones')?.setData({ type: 'FeatureCollection', features: this.zones });
  }

  setVisible(on: boolean): void {
    for (const id of [LAYERS.zonesFill, LAYERS.zonesLine]) {
      if (this.map.getLayer(id)) this.map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
    }
  }
}
