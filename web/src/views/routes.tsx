// The route planner (street office): choose the problems (click them on the map, or take every
// open problem the filters select), where the teams set out (the street office, set by clicking
// the map), the number of teams, a time budget and a mode, then `POST /api/v1/routes`. The
// answer's lines and numbered stops are drawn on the map, one colour per team, with a summary per
// team; the same plan downloads as GPX (phones, navigation apps) or opens as a printable sheet
// (one A4 page per team: map over the basemap, stops with case number, place and planned clock
// time from the departure chosen here, QR codes) for teams without phones. Both go through
// `request()`, so the session's cookie and CSRF token go with them.

import type { GeoJSONSource, MapMouseEvent } from 'maplibre-gl';
import type { FeatureCollection } from 'geojson';
import { useEffect, useRef, useState } from 'preact/hooks';
import { has, planRoutes, ROUTES_PATH, routesFile } from '../api';
import type { ProblemFeature, RoutePlan, RouteRequest } from '../api';
import type { ViewProps } from '../app';
import { ErrorText } from '../components/ErrorText';
import { Field } from '../components/Field';
import { FilterControls } from '../components/FilterControls';
import { SignIn } from '../components/SignIn';
import { StatusLine } from '../components/StatusLine';
import { formatCst, pick, t } from '../i18n';
import { useId, useProblemLayer, useUrlFilters } from '../hooks';
import { LAYERS } from '../map/mapview';
import { session } from '../session';
import { openFile, saveFile } from '../download';

const MODES = ['walk', 'cycle', 'drive'] as const;
/** Most problems one plan visits (the server's `MAX_STOPS`). */
const MAX_STOPS = 500;
/** Most teams one plan has. */
const MAX_TEAMS = 20;
const EMPTY: FeatureCollection = { type: 'FeatureCollection', features: [] };
const ROUTE_LAYERS = ['routes-stop-numbers', 'routes-stops', 'routes-line', 'route-start'];
const ROUTE_SOURCES = ['routes', 'route-start'];

function parseStart(v: string | null): [number, number] | null {
  if (!v) return null;
  const [lon, lat] = v.split(',').map(Number);
  if (lon === undefined || lat === undefined || !Number.isFinite(lon) || !Number.isFinite(lat)) return null;
  if (Math.abs(lon) > 180 || Math.abs(lat) > 90) return null;
  return [lon, lat];
}

/** Adds the route sources and layers (once; the style must be loaded). */
function addRouteLayers(map: ViewProps['app']['map']): void {
  if (!map.getSource('routes')) {
    map.addSource('routes', { type: 'geojson', data: EMPTY });
    map.addLayer(
      {
        id: 'routes-line',
        type: 'line',
        source: 'routes',
        filter: ['==', ['get', 'kind'], 'route'],
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': ['get', 'colour'], 'line-width': 4, 'line-opacity': 0.85 },
      },
      map.getLayer(LAYERS.clusters) ? LAYERS.clusters : undefined,
    );
    map.addLayer({
      id: 'routes-stops',
      type: 'circle',
      source: 'routes',
      filter: ['==', ['get', 'kind'], 'stop'],
      paint: { 'circle-color': ['get', 'colour'], 'circle-radius': 9, 'circle-stroke-color': ['case', ['get', 'must'], '#111827', '#ffffff'], 'circle-stroke-width': 2 },
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
    map.addLayer({ id: 'route-start', type: 'circle', source: 'route-start', paint: { 'circle-color': '#111827', 'circle-radius': 8, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 3 } });
  }
}

/** `HH:MM` of the next full half hour in China Standard Time: the default departure. */
function nextHalfHour(now: number = Date.now()): string {
  const half = 30 * 60_000;
  return formatCst(new Date((Math.floor(now / half) + 1) * half).toISOString()).slice(11, 16);
}

/** Downloads (GPX) or opens (the printable sheet, clock times from `depart`) the plan last made. */
async function exportPlan(req: RouteRequest, format: 'gpx' | 'html', depart: string): Promise<void> {
  const file = await routesFile(req, format, depart || undefined);
  if (format === 'gpx') saveFile(file, 'civmap-routes.gpx');
  else openFile(file);
}

function PlanResult({ plan, req, depart, onError }: { plan: RoutePlan; req: RouteRequest; depart: string; onError: (e: unknown) => void }) {
  const d = t();
  const visited = plan.teams.reduce((n, tm) => n + tm.stops.length, 0);
  const [busy, setBusy] = useState(false);
  const file = (format: 'gpx' | 'html') => {
    setBusy(true);
    exportPlan(req, format, depart)
      .catch(onError)
      .finally(() => setBusy(false));
  };
  return (
    <>
      <p class="muted" data-visited={String(visited)}>
        {d.stopsVisited(visited, req.ids?.length ?? 0)}
      </p>
      {plan.fallback_straight_line && <p class="warning">{d.fallback}</p>}
      <ol class="route-list">
        {plan.teams.map((tm) => (
          <li key={tm.team} data-team={String(tm.team)}>
            <span class="swatch" style={{ background: tm.colour }} />
            {d.teamSummary(tm.team, tm.stops.length, Math.round(tm.duration_s / 60), Math.round(tm.distance_m))}
          </li>
        ))}
      </ol>
      {plan.unassigned.length > 0 && <p class="muted">{d.left(plan.unassigned.length)}</p>}
      <div class="loc-row">
        <button type="button" class="btn secondary small" name="gpx" disabled={busy} onClick={() => file('gpx')}>
          {d.gpx}
        </button>
        <button type="button" class="btn secondary small" name="sheet" disabled={busy} onClick={() => file('html')}>
          {d.sheet}
        </button>
      </div>
    </>
  );
}

export function RoutesView({ app }: ViewProps) {
  const d = t();
  const { map, cats, problems } = app;
  const p = app.hash.params;
  const me = session.value;
  // The planner visits open problems only.
  const [filters, setFilters] = useUrlFilters(app, { status: 'open' });
  const [chosen, setChosen] = useState<Map<string, ProblemFeature>>(new Map());
  const [start, setStart] = useState<[number, number]>(() => {
    const c = map.getCenter();
    return parseStart(p.get('start')) ?? [Number(c.lng.toFixed(6)), Number(c.lat.toFixed(6))];
  });
  const [picking, setPicking] = useState(false);
  const [teams, setTeams] = useState('2');
  const [budget, setBudget] = useState('120');
  const [mode, setMode] = useState<(typeof MODES)[number]>('walk');
  const [end, setEnd] = useState<'start' | 'last'>('start');
  const [depart, setDepart] = useState(() => nextHalfHour());
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ plan: RoutePlan; req: RouteRequest } | null>(null);
  const [message, setMessage] = useState<unknown>(null);
  const ids = { teams: useId('teams'), budget: useId('budget'), mode: useId('mode'), end: useId('end'), depart: useId('depart') };
  const pickingRef = useRef(picking);
  pickingRef.current = picking;

  // Layers can be added once the style is loaded; until then wait for the map to settle.
  const whenStyle = (f: () => void) => {
    if (map.isStyleLoaded()) f();
    else map.once('idle', () => whenStyle(f));
  };

  useProblemLayer(app, true, (f) => {
    if (pickingRef.current) return;
    setChosen((c) => {
      const next = new Map(c);
      if (next.has(f.properties.id)) next.delete(f.properties.id);
      else next.set(f.properties.id, f);
      return next;
    });
  });

  useEffect(() => {
    const onClick = (e: MapMouseEvent) => {
      if (!pickingRef.current) return;
      setPicking(false);
      setStart([Number(e.lngLat.lng.toFixed(6)), Number(e.lngLat.lat.toFixed(6))]);
    };
    map.on('click', onClick);
    return () => {
      map.off('click', onClick);
      map.getCanvas().style.cursor = '';
      for (const layer of ROUTE_LAYERS) if (map.getLayer(layer)) map.removeLayer(layer);
      for (const source of ROUTE_SOURCES) if (map.getSource(source)) map.removeSource(source);
    };
  }, []);

  useEffect(() => void problems.reload(true), [me?.name]);

  useEffect(() => {
    map.getCanvas().style.cursor = picking ? 'crosshair' : '';
  }, [picking]);

  useEffect(() => {
    p.set('start', start.join(','));
    app.syncUrl();
    let live = true;
    whenStyle(() => {
      if (!live) return;
      addRouteLayers(map);
      map.getSource<GeoJSONSource>('route-start')?.setData({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: start }, properties: {} }] });
    });
    return () => void (live = false);
  }, [start]);

  useEffect(() => {
    map.getSource<GeoJSONSource>('selected')?.setData({ type: 'FeatureCollection', features: [...chosen.values()] });
  }, [chosen]);

  const plan = async () => {
    setMessage(null);
    setResult(null);
    // The last plan leaves the map with its summary: a failed plan must not look like it.
    map.getSource<GeoJSONSource>('routes')?.setData(EMPTY);
    if (!(await has(ROUTES_PATH))) return setMessage(d.routesNotAvailable);
    const req: RouteRequest = {
      ids: [...chosen.keys()],
      teams: Math.max(1, Math.min(MAX_TEAMS, Math.round(Number(teams) || 1))),
      budget_min: Number(budget) || 0,
      mode,
      start,
      end,
      seed: 1,
    };
    if (req.ids!.length === 0) return setMessage(d.noneChosen);
    if (req.ids!.length > MAX_STOPS) return setMessage(d.tooMany(MAX_STOPS));
    setBusy(true);
    try {
      const answer = await planRoutes(req);
      addRouteLayers(map);
      map.getSource<GeoJSONSource>('routes')?.setData(answer.geojson);
      setResult({ plan: answer, req });
    } catch (e) {
      setMessage(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h2 class="panel-title">{d.nav.routes}</h2>
      <p class="muted">{d.routesIntro}</p>
      <SignIn />
      <FilterControls cats={cats} value={filters} onChange={setFilters} />
      <StatusLine layer={problems} />
      <div class="loc-row">
        <button
          type="button"
          class="btn secondary small"
          name="choose-filtered"
          onClick={() => setChosen((c) => new Map([...c, ...problems.features.filter((f) => f.properties.open).map((f) => [f.properties.id, f] as const)]))}
        >
          {d.chooseFiltered}
        </button>
        <button type="button" class="link" onClick={() => setChosen(new Map())}>
          {d.noneCategories}
        </button>
      </div>
      <p class="muted" data-chosen={String(chosen.size)}>
        {d.chosen(chosen.size)}
      </p>
      <div class="field">
        <span class="label">{d.routeStart}</span>
        <div class="loc-row">
          <span class="muted" data-start={start.join(',')}>{`${start[0].toFixed(5)}, ${start[1].toFixed(5)}`}</span>
          <button type="button" class="btn secondary small" name="pick-start" onClick={() => setPicking(!picking)}>
            {picking ? d.pickStartHint : d.setStart}
          </button>
        </div>
      </div>
      <div class="field-row">
        <Field name="teams" label={d.teams} for={ids.teams}>
          <input id={ids.teams} type="number" name="teams" min={1} max={MAX_TEAMS} value={teams} onInput={(e) => setTeams(e.currentTarget.value)} />
        </Field>
        <Field name="budget" label={d.timeBudget} for={ids.budget}>
          <input id={ids.budget} type="number" name="budget" min={15} max={1440} step={15} value={budget} onInput={(e) => setBudget(e.currentTarget.value)} />
        </Field>
        <Field name="mode" label={d.mode} for={ids.mode}>
          <select id={ids.mode} name="mode" value={mode} onChange={(e) => setMode(MODES.find((m) => m === e.currentTarget.value) ?? 'walk')}>
            {MODES.map((m) => (
              <option key={m} value={m}>
                {pick(d.modes, m)}
              </option>
            ))}
          </select>
        </Field>
        <Field name="depart" label={d.depart} for={ids.depart}>
          <input id={ids.depart} type="time" name="depart" step={300} value={depart} onInput={(e) => setDepart(e.currentTarget.value)} />
        </Field>
        <Field name="end" label={d.routeEnd} for={ids.end}>
          <select id={ids.end} name="end" value={end} onChange={(e) => setEnd(e.currentTarget.value === 'last' ? 'last' : 'start')}>
            <option value="start">{d.endStart}</option>
            <option value="last">{d.endLast}</option>
          </select>
        </Field>
      </div>
      <button type="button" class="btn primary" name="plan" disabled={busy} onClick={() => void plan()}>
        {d.plan}
      </button>
      <div class="result" aria-live="polite">
        {me === null && <p class="muted">{d.needSignIn}</p>}
        {result && <PlanResult plan={result.plan} req={result.req} depart={depart} onError={setMessage} />}
        {message !== null && <ErrorText error={message} for="routes" class={typeof message === 'string' ? 'warning' : 'error'} />}
      </div>
    </>
  );
}
