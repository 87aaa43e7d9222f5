// The set-up console's map: every zone of the street coloured by kind (grid cells as thin
// outlines), the coverage check on top (uncovered parts in red, overlaps between chiefs in
// amber), the selected zone ringed, and drawing through terra-draw (a kept drawing library with
// a MapLibre adapter): polygons, lines (road stretches), points, and editing a zone's outline.
//
// Positions are WGS-84 `[lon, lat]` (RFC 7946).

import type { GeoJSONSource, Map as MlMap, MapMouseEvent } from 'maplibre-gl';
import type { Feature, FeatureCollection, Geometry, MultiPolygon, Polygon } from 'geojson';
import type { TerraDraw } from 'terra-draw';
import type { CoverageCheck, ZoneFeature } from '../api';

/** Zone kinds, in the order the legend lists them. */
export const ZONE_KINDS = ['point', 'road', 'surroundings', 'area', 'grid_cell'] as const;

/** Colours by zone kind, and of the coverage check. */
export const KIND_COLORS: Record<string, string> = {
  point: '#db2777',
  road: '#0891b2',
  surroundings: '#16a34a',
  area: '#7c3aed',
  grid_cell: '#64748b',
  uncovered: '#dc2626',
  overlap: '#f59e0b',
};

/** Layer ids (tests query them). */
export const SETUP_LAYERS = {
  grid: 'setup-grid',
  fill: 'setup-zones-fill',
  line: 'setup-zones-line',
  uncovered: 'setup-uncovered',
  overlap: 'setup-overlap',
  selected: 'setup-selected',
} as const;

/** terra-draw and its MapLibre adapter, loaded when the first drawing starts (the public map never needs them). */
function loadDraw() {
  return Promise.all([import('terra-draw'), import('terra-draw-maplibre-gl-adapter')]);
}

const EMPTY: FeatureCollection = { type: 'FeatureCollection', features: [] };

/** What is being drawn: a polygon (areas, outlines), a line (road stretches) or a point. */
export type DrawShape = 'polygon' | 'linestring' | 'point';

function kindColor(): unknown {
  return ['match', ['get', 'kind'], ...Object.entries(KIND_COLORS).flat(), '#475569'];
}

/** A rough size of a zone (its bounding box in square degrees), to pick the smallest clicked. */
function boxArea(g: Polygon | MultiPolygon): number {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  for (const poly of polys)
    for (const [x, y] of (poly[0] ?? []) as [number, number][]) {
      minX = Math.min(minX, x);
      minY = Math.min(minY, y);
      maxX = Math.max(maxX, x);
      maxY = Math.max(maxY, y);
    }
  return Number.isFinite(minX) ? (maxX - minX) * (maxY - minY) : Infinity;
}

export class SetupLayer {
  readonly map: MlMap;
  zones: ZoneFeature[] = [];
  private draw: TerraDraw | null = null;
  /** Counts drawings begun, so one that finished loading late knows it was replaced. */
  private generation = 0;
  /** What a click on a zone does (not while drawing). */
  onPick: ((z: ZoneFeature | null) => void) | null = null;
  /** Called when a drawing is finished, with its geometry. */
  onDrawn: ((g: Geometry) => void) | null = null;
  private readonly click = (e: MapMouseEvent) => this.clicked(e);

  constructor(map: MlMap) {
    this.map = map;
  }

  /** Adds the sources and layers (idempotent: the view may mount again). */
  install(): void {
    const map = this.map;
    if (!map.getSource('setup-zones')) {
      map.addSource('setup-zones', { type: 'geojson', data: EMPTY });
      map.addSource('setup-coverage', { type: 'geojson', data: EMPTY });
      map.addSource('setup-selected', { type: 'geojson', data: EMPTY });
      map.addLayer({
        id: SETUP_LAYERS.grid,
        type: 'line',
        source: 'setup-zones',
        filter: ['==', ['get', 'kind'], 'grid_cell'],
        paint: { 'line-color': KIND_COLORS.grid_cell!, 'line-width': 0.6, 'line-opacity': 0.55 },
      });
      map.addLayer({
        id: SETUP_LAYERS.fill,
        type: 'fill',
        source: 'setup-zones',
        filter: ['!=', ['get', 'kind'], 'grid_cell'],
        paint: { 'fill-color': kindColor() as never, 'fill-opacity': ['match', ['get', 'kind'], 'area', 0.08, 'surroundings', 0.12, 0.2] },
      });
      map.addLayer({
        id: SETUP_LAYERS.line,
        type: 'line',
        source: 'setup-zones',
        filter: ['!=', ['get', 'kind'], 'grid_cell'],
        paint: { 'line-color': kindColor() as never, 'line-width': ['match', ['get', 'kind'], 'area', 2.2, 1.4], 'line-opacity': 0.9 },
      });
      map.addLayer({
        id: SETUP_LAYERS.uncovered,
        type: 'fill',
        source: 'setup-coverage',
        filter: ['==', ['get', 'kind'], 'uncovered'],
        paint: { 'fill-color': KIND_COLORS.uncovered!, 'fill-opacity': 0.35, 'fill-outline-color': KIND_COLORS.uncovered! },
      });
      map.addLayer({
        id: SETUP_LAYERS.overlap,
        type: 'fill',
        source: 'setup-coverage',
        filter: ['==', ['get', 'kind'], 'overlap'],
        paint: { 'fill-color': KIND_COLORS.overlap!, 'fill-opacity': 0.25, 'fill-outline-color': '#b45309' },
      });
      map.addLayer({
        id: SETUP_LAYERS.selected,
        type: 'line',
        source: 'setup-selected',
        paint: { 'line-color': '#111827', 'line-width': 3 },
      });
    }
    this.setVisible(true);
    map.on('click', this.click);
  }

  /** Hides the layers and ends drawing (the view left). */
  uninstall(): void {
    this.map.off('click', this.click);
    this.stopDrawing();
    this.select(null);
    this.setVisible(false);
  }

  private setVisible(on: boolean): void {
    for (const id of Object.values(SETUP_LAYERS)) {
      if (this.map.getLayer(id)) this.map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
    }
  }

  setZones(zones: ZoneFeature[]): void {
    this.zones = zones;
    // The kind is read from the properties by the layers' expressions.
    this.map.getSource<GeoJSONSource>('setup-zones')?.setData({ type: 'FeatureCollection', features: zones });
  }

  setCoverage(c: CoverageCheck | null): void {
    this.map.getSource<GeoJSONSource>('setup-coverage')?.setData(c ?? EMPTY);
  }

  /** Rings the selected zone (none with `null`). */
  select(z: ZoneFeature | null): void {
    this.map.getSource<GeoJSONSource>('setup-selected')?.setData(z ? { type: 'FeatureCollection', features: [z] } : EMPTY);
  }


  private clicked(e: MapMouseEvent): void {
    if (this.draw || !this.onPick) return;
    const layers = [SETUP_LAYERS.fill].filter((l) => this.map.getLayer(l));
    const hits = this.map.queryRenderedFeatures(e.point, { layers });
    const ids = new Set(hits.map((h) => String(h.properties.id)));
    let cells = this.zones.filter((z) => ids.has(z.properties.id));
    // Nothing else there: the grid cell under the click.
    if (cells.length === 0) {
      cells = this.zones.filter((z) => z.properties.kind === 'grid_cell' && contains(z, [e.lngLat.lng, e.lngLat.lat]));
    }
    // The smallest zone under the pointer: a gate inside a road inside an area.
    cells.sort((a, b) => boxArea(a.geometry) - boxArea(b.geometry));
    this.onPick(cells[0] ?? null);
  }

  /** A started terra-draw on the map, unless another drawing began meanwhile (then `null`). */
  private async makeDraw(): Promise<TerraDraw | null> {
    const ticket = ++this.generation;
    const [td, { TerraDrawMapLibreGLAdapter }] = await loadDraw();
    if (ticket !== this.generation) return null;
    const draw = new td.TerraDraw({
      adapter: new TerraDrawMapLibreGLAdapter({ map: this.map }),
      modes: [
        new td.TerraDrawPolygonMode(),
        new td.TerraDrawLineStringMode(),
        new td.TerraDrawPointMode(),
        new td.TerraDrawSelectMode({
          flags: {
            polygon: { feature: { draggable: true, coordinates: { draggable: true, deletable: true, midpoints: true } } },
          },
        }),
      ],
    });
    draw.start();
    this.draw = draw;
    return draw;
  }

  /** Starts drawing a new shape; `onDrawn` gets it when finished (a new drawing replaces it). */
  async startDrawing(shape: DrawShape): Promise<void> {
    this.stopDrawing();
    const draw = await this.makeDraw();
    if (!draw) return;
    draw.setMode(shape);
    draw.on('finish', (fid) => {
      const f = draw.getSnapshotFeature(fid);
      if (!f) return;
      // One shape at a time: earlier ones go.
      const others = draw
        .getSnapshot()
        .filter((x) => x.id !== fid)
        .map((x) => x.id as string);
      if (others.length) draw.removeFeatures(others);
      this.onDrawn?.(f.geometry as Geometry);
    });
  }

  /**
   * Puts a zone's outline (its largest polygon) into the editor, its corners draggable; answers
   * that outline (what is saved if nothing is moved).
   */
  startEditing(z: ZoneFeature): Polygon | null {
    this.stopDrawing();
    const polys = z.geometry.type === 'Polygon' ? [z.geometry.coordinates] : z.geometry.coordinates;
    const largest = [...polys].sort((a, b) => (b[0]?.length ?? 0) - (a[0]?.length ?? 0))[0];
    if (!largest) return null;
    const poly: Polygon = { type: 'Polygon', coordinates: largest };
    void this.makeDraw().then((draw) => {
      if (!draw) return;
      draw.setMode('select');
      const [added] = draw.addFeatures([{ type: 'Feature', geometry: poly, properties: { mode: 'polygon' } }]);
      if (added?.valid && added.id !== undefined) draw.selectFeature(added.id);
      draw.on('change', () => {
        const f = draw.getSnapshot().find((x) => x.geometry.type === 'Polygon');
        if (f) this.onDrawn?.(f.geometry as Geometry);
      });
    });
    return poly;
  }

  /** Ends drawing and editing, removing what was drawn. */
  stopDrawing(): void {
    // A drawing still loading is not started.
    this.generation++;
    if (!this.draw) return;
    const draw = this.draw;
    this.draw = null;
    try {
      draw.clear();
      draw.stop();
    } catch (e) {
      console.warn('terra-draw did not stop cleanly', e);
    }
  }
}

/** Whether `[lon, lat]` is inside the zone (ray casting; holes counted). */
function contains(z: Feature<Polygon | MultiPolygon>, [x, y]: [number, number]): boolean {
  const polys = z.geometry.type === 'Polygon' ? [z.geometry.coordinates] : z.geometry.coordinates;
  let inside = false;
  for (const poly of polys)
    for (const ring of poly) {
      const r = ring as [number, number][];
      for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
        const [xi, yi] = r[i]!;
        const [xj, yj] = r[j]!;
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
    }
  return inside;
}
