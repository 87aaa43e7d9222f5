// The office's patrol map (巡查): the point and road zones of the street, those nobody visited
// for `workflow.unvisited_days` filled red, the visited ones outlined green, and the week's
// patrol tracks as blue lines; with a legend saying so. Positions are WGS-84 `[lon, lat]`.

import { render } from 'preact';
import type { GeoJSONSource, IControl, Map as MlMap } from 'maplibre-gl';
import type { Feature, FeatureCollection, LineString } from 'geojson';
import type { CoverageOut, PatrolOut, ZoneFeature } from '../api';
import { t } from '../i18n';

/** Layer ids (tests query them). */
export const PATROL_LAYERS = { unvisited: 'patrol-unvisited', visited: 'patrol-visited', tracks: 'patrol-tracks' } as const;
export const PATROL_COLORS = { unvisited: '#dc2626', visited: '#16a34a', track: '#2563eb' } as const;

const EMPTY: FeatureCollection = { type: 'FeatureCollection', features: [] };

function Legend({ days }: { days: number }) {
  const d = t().patrols;
  return (
    <details class="legend patrol-legend" open>
      <summary>{d.legend}</summary>
      <ul class="legend-cats">
        <li data-kind="unvisited">
          <span class="zone-swatch" style={{ borderColor: PATROL_COLORS.unvisited, background: PATROL_COLORS.unvisited }} />
          <span class="legend-name">{d.legendUnvisited(days)}</span>
        </li>
        <li data-kind="visited">
          <span class="zone-swatch" style={{ borderColor: PATROL_COLORS.visited, background: 'transparent' }} />
          <span class="legend-name">{d.legendVisited}</span>
        </li>
        <li data-kind="track">
          <span class="track-swatch" style={{ background: PATROL_COLORS.track }} />
          <span class="legend-name">{d.legendTrack}</span>
        </li>
      </ul>
    </details>
  );
}

class LegendControl implements IControl {
  readonly root: HTMLElement;
  constructor() {
    this.root = document.createElement('div');
    this.root.className = 'maplibregl-ctrl maplibregl-ctrl-group legend-ctrl patrol-legend-ctrl';
  }
  onAdd(): HTMLElement {
    return this.root;
  }
  onRemove(): void {
    render(null, this.root);
    this.root.remove();
  }
}

export class PatrolLayer {
  private readonly map: MlMap;
  private legend: LegendControl | null = null;

  constructor(map: MlMap) {
    this.map = map;
  }

  /** Adds the sources, layers and legend (idempotent). */
  install(): void {
    const map = this.map;
    if (!map.getSource('patrol-zones')) {
      map.addSource('patrol-zones', { type: 'geojson', data: EMPTY });
      map.addSource('patrol-tracks', { type: 'geojson', data: EMPTY });
      map.addLayer({
        id: PATROL_LAYERS.unvisited,
        type: 'fill',
        source: 'patrol-zones',
        filter: ['==', ['get', 'unvisited'], true],
        paint: { 'fill-color': PATROL_COLORS.unvisited, 'fill-opacity': 0.4, 'fill-outline-color': '#991b1b' },
      });
      map.addLayer({
        id: PATROL_LAYERS.visited,
        type: 'line',
        source: 'patrol-zones',
        filter: ['==', ['get', 'unvisited'], false],
        paint: { 'line-color': PATROL_COLORS.visited, 'line-width': 2 },
      });
      map.addLayer({
        id: PATROL_LAYERS.tracks,
        type: 'line',
        source: 'patrol-tracks',
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: { 'line-color': PATROL_COLORS.track, 'line-width': 3, 'line-opacity': 0.85 },
      });
    }
    for (const id of Object.values(PATROL_LAYERS)) map.setLayoutProperty(id, 'visibility', 'visible');
    if (!this.legend) {
      this.legend = new LegendControl();
      map.addControl(this.legend, 'bottom-left');
    }
  }

  /** Hides the layers and the legend (the office left). */
  uninstall(): void {
    for (const id of Object.values(PATROL_LAYERS)) if (this.map.getLayer(id)) this.map.setLayoutProperty(id, 'visibility', 'none');
    if (this.legend) this.map.removeControl(this.legend);
    this.legend = null;
  }

  /** Draws the figures' zones and the patrols' tracks. */
  show(coverage: CoverageOut, zones: ZoneFeature[], patrols: PatrolOut[]): void {
    const byId = new Map(coverage.zones.map((z) => [z.zone, z]));
    const zf: Feature[] = zones
      .filter((z) => byId.has(z.properties.id))
      .map((z) => ({ type: 'Feature', geometry: z.geometry, properties: { id: z.properties.id, name: z.properties.name, unvisited: byId.get(z.properties.id)!.unvisited } }));
    const tracks: Feature<LineString>[] = patrols
      .filter((p) => p.track.length >= 2)
      .map((p) => ({ type: 'Feature', geometry: { type: 'LineString', coordinates: p.track as [number, number][] }, properties: { id: p.id, chief: p.chief_name } }));
    this.map.getSource<GeoJSONSource>('patrol-zones')?.setData({ type: 'FeatureCollection', features: zf });
    this.map.getSource<GeoJSONSource>('patrol-tracks')?.setData({ type: 'FeatureCollection', features: tracks });
    if (this.legend) render(<Legend days={coverage.unvisited_days} />, this.legend.root);
  }
}
