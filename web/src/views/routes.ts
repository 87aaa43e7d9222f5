// The route planner (street office): choose the problems (click them on the map, or take every
// open problem the filters select), where the teams set out (the street office, set by clicking
// the map), the number of teams, a time budget and a mode, then `POST /api/v1/routes`. The
// answer's lines and numbered stops are drawn on the map, one colour per team, with a summary per
// team; the same plan downloads as GPX (phones, navigation apps) or opens as a printable sheet
// (stop table and map) for teams without phones.

import type { GeoJSONSource, MapMouseEvent } from 'maplibre-gl';
import type { FeatureCollection, Geometry } from 'geojson';
import { ApiError, has, request, token } from '../api';
import type { ProblemFeature } from '../api';
import type { App, View } from '../app';
import { clear, el, uid } from '../dom';
import { filterControls, filtersFromParams, filtersToParams, toApiFilter } from '../filters';
import type { Filters } from '../filters';
import { lang, t } from '../i18n';
import { LAYERS } from '../mapview';
import { statusLine } from './public';
import { tokenBox } from './staff';

const ENDPOINT = '/api/v1/routes';
const MODES = ['walk', 'cycle', 'drive'] as const;
/** Most problems one plan visits (the server's `MAX_STOPS`). */
const MAX_STOPS = 500;

/** Words of this view that the shared dictionary does not have. */
const WORDS = {
  zh: {
    start: '出发点（街道办）',
    setStart: '在地图上点选出发点',
    pickHint: '请在地图上点击出发点…',
    end: '终点',
    endStart: '返回出发点',
    endLast: '在最后一个点结束',
    gpx: '下载 GPX',
    sheet: '打印路线单',
    fallback: '无路网：按直线距离估算',
    left: (n: number) => `${n} 个可选问题未安排（时间不够或无法到达）`,
    tooMany: (n: number) => `最多 ${n} 个问题`,
    noneChosen: '请先选择问题',
    stops: '涉及问题',
  },
  en: {
    start: 'Start (street office)',
    setStart: 'Set the start on the map',
    pickHint: 'Click the start on the map…',
    end: 'End',
    endStart: 'Back to the start',
    endLast: 'At the last stop',
    gpx: 'Download GPX',
    sheet: 'Print route sheet',
    fallback: 'No road graph: straight-line estimate',
    left: (n: number) => `${n} optional problems left out (no time left, or unreachable)`,
    tooMany: (n: number) => `At most ${n} problems`,
    noneChosen: 'Choose problems first',
    stops: 'Problems',
  },
};

/** The request `POST /api/v1/routes` reads (see `RouteRequest` in the OpenAPI document). */
interface RouteRequest {
  ids: string[];
  teams: number;
  budget_min: number;
  mode: (typeof MODES)[number];
  start: [number, number];
  end: 'start' | 'last';
  seed: number;
}

interface PlannedStop {
  seq: number;
  id: string;
  category_name: string | null;
  coordinates: [number, number];
  arrival_s: number;
  must: boolean;
}

interface TeamRoute {
  team: number;
  colour: string;
  distance_m: number;
  duration_s: number;
  stops: PlannedStop[];
}

/** The JSON answer (the parts this view shows). */
interface RoutePlan {
  fallback_straight_line: boolean;
  note: string | null;
  teams: TeamRoute[];
  unassigned: { id: string; reason: string }[];
  geojson: FeatureCollection<Geometry, Record<string, unknown>>;
}

const EMPTY: FeatureCollection = { type: 'FeatureCollection', features: [] };

/** Posts `body` and returns the answer as a Blob (GPX, HTML); errors become [`ApiError`]s. */
async function fetchBlob(format: string, body: RouteRequest): Promise<Blob> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const tk = token();
  if (tk) headers.Authorization = `Bearer ${tk}`;
  const resp = await fetch(`${ENDPOINT}?format=${format}`, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!resp.ok) {
    let message = `${resp.status} ${resp.statusText}`;
    try {
      const err = ((await resp.json()) as { error?: { message?: string } }).error;
      if (err?.message) message = err.message;
    } catch {
      // Not JSON: keep the status line.
    }
    throw new ApiError(resp.status, 'http', message, null, null);
  }
  return resp.blob();
}

function parseStart(v: string | null): [number, number] | null {
  if (!v) return null;
  const [lon, lat] = v.split(',').map(Number);
  if (lon === undefined || lat === undefined || !Number.isFinite(lon) || !Number.isFinite(lat)) return null;
  if (Math.abs(lon) > 180 || Math.abs(lat) > 90) return null;
  return [lon, lat];
}

export function mountRoutes(app: App): View {
  const d = t();
  const w = WORDS[lang()];
  const { map, cats, panel, problems } = app;
  const p = app.hash.params;
  problems.auth = true;
  let filters: Filters = { ...filtersFromParams(p, new Set(cats.map((c) => c.code))), status: 'open' };
  const chosen = new Map<string, ProblemFeature>();

  // Where the teams set out: from the URL (`start=lon,lat`), else the middle of the map.
  const centre = map.getCenter();
  let start: [number, number] = parseStart(p.get('start')) ?? [Number(centre.lng.toFixed(6)), Number(centre.lat.toFixed(6))];

  const sources = () => {
    if (!map.getSource('routes')) {
      map.addSource('routes', { type: 'geojson', data: EMPTY });
      map.addLayer({
        id: 'routes-line',
        type: 'line',
        source: 'routes',
        filter: ['==', ['get', 'kind'], 'route'],
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': ['get', 'colour'], 'line-width': 4, 'line-opacity': 0.85 },
      }, map.getLayer(LAYERS.clusters) ? LAYERS.clusters : undefined);
      map.addLayer({
        id: 'routes-stops',
        type: 'circle',
        source: 'routes',
        filter: ['==', ['get', 'kind'], 'stop'],
        paint: {
          'circle-color': ['get', 'colour'],
          'circle-radius': 9,
          'circle-stroke-color': ['case', ['get', 'must'], '#111827', '#ffffff'],
          'circle-stroke-width': 2,
        },
      });
      map.addLayer({
        id: 'routes-stop-numbers',
        type: 'symbol',
        source: 'routes',
        filter: ['==', ['get', 'kind'], 'stop'],
        layout: { 'text-field': ['to-string', ['get', 'seq']], 'text-font': ['sans-serif'], 'text-size': 11, 'text-allow-overlap': true },
        paint: { 'text-color': '#ffffff' },
      });
    }
    if (!map.getSource('route-start')) {
      map.addSource('route-start', { type: 'geojson', data: EMPTY });
      map.addLayer({
        id: 'route-start',
        type: 'circle',
        source: 'route-start',
        paint: { 'circle-color': '#111827', 'circle-radius': 8, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 3 },
      });
    }
  };
  // Layers can be added once the style is loaded; until then (or while it reloads) wait for the
  // map to settle and try again.
  let unmounted = false;
  const drawStart = () => {
    if (unmounted) return;
    if (!map.isStyleLoaded()) {
      map.once('idle', drawStart);
      return;
    }
    sources();
    map.getSource<GeoJSONSource>('route-start')?.setData({
      type: 'FeatureCollection',
      features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: start }, properties: {} }],
    });
  };

  const chosenText = el('p', { class: 'muted', 'data-chosen': '0' });
  const renderChosen = () => {
    chosenText.textContent = d.chosen(chosen.size);
    chosenText.dataset.chosen = String(chosen.size);
    map.getSource<GeoJSONSource>('selected')?.setData({ type: 'FeatureCollection', features: [...chosen.values()] });
  };
  let picking = false;
  const onSelect = (f: ProblemFeature) => {
    if (picking) return;
    if (chosen.has(f.properties.id)) chosen.delete(f.properties.id);
    else chosen.set(f.properties.id, f);
    renderChosen();
  };
  problems.onSelect = onSelect;

  // The start: shown as lon, lat; the button arms one map click.
  const startText = el('span', { class: 'muted', 'data-start': '' });
  const renderStart = () => {
    startText.textContent = `${start[0].toFixed(5)}, ${start[1].toFixed(5)}`;
    startText.dataset.start = start.join(',');
    drawStart();
  };
  const pickStart = el('button', { type: 'button', class: 'btn secondary small', name: 'pick-start' }, w.setStart);
  const onMapClick = (e: MapMouseEvent) => {
    if (!picking) return;
    picking = false;
    pickStart.textContent = w.setStart;
    map.getCanvas().style.cursor = '';
    start = [Number(e.lngLat.lng.toFixed(6)), Number(e.lngLat.lat.toFixed(6))];
    p.set('start', start.join(','));
    app.syncUrl();
    renderStart();
  };
  map.on('click', onMapClick);
  pickStart.addEventListener('click', () => {
    picking = !picking;
    pickStart.textContent = picking ? w.pickHint : w.setStart;
    map.getCanvas().style.cursor = picking ? 'crosshair' : '';
  });

  const teamsId = uid('teams');
  const teams = el('input', { id: teamsId, type: 'number', name: 'teams', min: 1, max: 20, value: '2' });
  const budgetId = uid('budget');
  const budget = el('input', { id: budgetId, type: 'number', name: 'budget', min: 15, max: 1440, step: 15, value: '120' });
  const modeId = uid('mode');
  const names: Record<string, string> = { walk: d.modeWalk, cycle: d.modeBike, drive: d.modeDrive };
  const mode = el('select', { id: modeId, name: 'mode' }, ...MODES.map((m) => el('option', { value: m }, names[m] ?? m)));
  const endId = uid('end');
  const end = el('select', { id: endId, name: 'end' }, el('option', { value: 'start' }, w.endStart), el('option', { value: 'last' }, w.endLast));
  const result = el('div', { class: 'result', 'aria-live': 'polite' });

  const body = (): RouteRequest => ({
    ids: [...chosen.keys()],
    teams: Math.max(1, Math.min(20, Math.round(Number(teams.value) || 1))),
    budget_min: Number(budget.value) || 0,
    mode: MODES.find((m) => m === mode.value) ?? 'walk',
    start,
    end: end.value === 'last' ? 'last' : 'start',
    seed: 1,
  });

  const fail = (e: unknown) => {
    result.append(el('p', { class: 'error' }, e instanceof Error ? e.message : String(e)));
  };

  /** Downloads or opens the plan in another format; the request is the one last planned. */
  const exportButton = (label: string, name: string, format: 'gpx' | 'html', req: RouteRequest) => {
    const b = el('button', { type: 'button', class: 'btn secondary small', name }, label);
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        const blob = await fetchBlob(format, req);
        const url = URL.createObjectURL(blob);
        if (format === 'gpx') {
          const a = el('a', { href: url, download: 'civmap-routes.gpx' });
          document.body.append(a);
          a.click();
          a.remove();
        } else {
          window.open(url, '_blank', 'noopener');
        }
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
      } catch (e) {
        fail(e);
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };

  const plan = el('button', { type: 'button', class: 'btn primary', name: 'plan' }, d.plan);
  plan.addEventListener('click', async () => {
    clear(result);
    if (!(await has(ENDPOINT))) {
      result.append(el('p', { class: 'warning' }, d.routesNotAvailable));
      return;
    }
    const req = body();
    if (req.ids.length === 0) {
      result.append(el('p', { class: 'warning' }, w.noneChosen));
      return;
    }
    if (req.ids.length > MAX_STOPS) {
      result.append(el('p', { class: 'warning' }, w.tooMany(MAX_STOPS)));
      return;
    }
    plan.disabled = true;
    try {
      const answer = await request<RoutePlan>(ENDPOINT, { method: 'POST', json: req, auth: true });
      sources();
      map.getSource<GeoJSONSource>('routes')?.setData(answer.geojson);
      drawStart();
      const visited = answer.teams.reduce((n, tm) => n + tm.stops.length, 0);
      const parts: (Node | null)[] = [
        el('p', { class: 'muted', 'data-visited': String(visited) }, `${w.stops}: ${visited} / ${req.ids.length}`),
        answer.fallback_straight_line ? el('p', { class: 'warning' }, `${w.fallback}${answer.note ? ` (${answer.note})` : ''}`) : null,
        el(
          'ol',
          { class: 'route-list' },
          ...answer.teams.map((tm) =>
            el(
              'li',
              { 'data-team': String(tm.team) },
              el('span', { class: 'swatch', style: `background:${tm.colour}` }),
              d.teamSummary(tm.team, tm.stops.length, Math.round(tm.duration_s / 60), Math.round(tm.distance_m)),
            ),
          ),
        ),
        answer.unassigned.length > 0 ? el('p', { class: 'muted' }, w.left(answer.unassigned.length)) : null,
        el('div', { class: 'loc-row' }, exportButton(w.gpx, 'gpx', 'gpx', req), exportButton(w.sheet, 'sheet', 'html', req)),
      ];
      result.append(...parts.filter((x): x is Node => x !== null));
    } catch (e) {
      fail(e);
    } finally {
      plan.disabled = false;
    }
  });

  const useFilter = el('button', { type: 'button', class: 'btn secondary small', name: 'choose-filtered' }, d.chooseFiltered);
  useFilter.addEventListener('click', () => {
    for (const f of problems.features) if (f.properties.open) chosen.set(f.properties.id, f);
    renderChosen();
  });
  const clearSel = el('button', { type: 'button', class: 'link' }, d.noneCategories);
  clearSel.addEventListener('click', () => {
    chosen.clear();
    renderChosen();
  });

  clear(panel);
  panel.append(
    el('h2', { class: 'panel-title' }, d.navRoutes),
    el('p', { class: 'muted' }, d.routesIntro),
    tokenBox(() => void problems.reload(true)),
    filterControls(cats, filters, (f) => {
      filters = f;
      filtersToParams(f, p);
      app.syncUrl();
      problems.setFilter(toApiFilter(f));
    }),
    statusLine(app),
    el('div', { class: 'loc-row' }, useFilter, clearSel),
    chosenText,
    el('div', { class: 'field' }, el('span', { class: 'label' }, w.start), el('div', { class: 'loc-row' }, startText, pickStart)),
    el('div', { class: 'field-row' },
      el('div', { class: 'field' }, el('label', { for: teamsId, class: 'label' }, d.teams), teams),
      el('div', { class: 'field' }, el('label', { for: budgetId, class: 'label' }, d.timeBudget), budget),
      el('div', { class: 'field' }, el('label', { for: modeId, class: 'label' }, d.mode), mode),
      el('div', { class: 'field' }, el('label', { for: endId, class: 'label' }, w.end), end),
    ),
    plan,
    result,
  );
  renderChosen();
  renderStart();
  problems.setFilter(toApiFilter(filters));
  if (!token()) result.append(el('p', { class: 'muted' }, d.needToken));

  return {
    unmount() {
      unmounted = true;
      map.off('click', onMapClick);
      map.getCanvas().style.cursor = '';
      for (const layer of ['routes-stop-numbers', 'routes-stops', 'routes-line', 'route-start']) if (map.getLayer(layer)) map.removeLayer(layer);
      for (const source of ['routes', 'route-start']) if (map.getSource(source)) map.removeSource(source);
      problems.onSelect = null;
      problems.select(null);
      problems.auth = false;
    },
  };
}
