// The route planner's front half (street office): choose the problems (click them on the map, or
// take every open problem the filters select), the number of teams, a time budget and a mode.
// Planning itself needs the server's planner (`POST /api/v1/routes/plan`); until the server
// declares it, the view says so instead of sending anything.

import type { GeoJSONSource } from 'maplibre-gl';
import type { FeatureCollection, LineString, MultiLineString } from 'geojson';
import { has, request, token } from '../api';
import type { ProblemFeature } from '../api';
import type { App, View } from '../app';
import { clear, el, uid } from '../dom';
import { filterControls, filtersFromParams, filtersToParams, toApiFilter } from '../filters';
import type { Filters } from '../filters';
import { t } from '../i18n';
import { statusLine } from './public';
import { tokenBox } from './staff';

const MODES = ['walk', 'bike', 'drive'] as const;
const TEAM_COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

export function mountRoutes(app: App): View {
  const d = t();
  const { map, cats, panel, problems } = app;
  const p = app.hash.params;
  problems.auth = true;
  let filters: Filters = { ...filtersFromParams(p, new Set(cats.map((c) => c.code))), status: 'open' };
  const chosen = new Map<string, ProblemFeature>();

  const chosenText = el('p', { class: 'muted', 'data-chosen': '0' });
  const renderChosen = () => {
    chosenText.textContent = d.chosen(chosen.size);
    chosenText.dataset.chosen = String(chosen.size);
    map.getSource<GeoJSONSource>('selected')?.setData({ type: 'FeatureCollection', features: [...chosen.values()] });
  };
  problems.onSelect = (f) => {
    if (chosen.has(f.properties.id)) chosen.delete(f.properties.id);
    else chosen.set(f.properties.id, f);
    renderChosen();
  };

  const teamsId = uid('teams');
  const teams = el('input', { id: teamsId, type: 'number', name: 'teams', min: 1, max: 20, value: '2' });
  const budgetId = uid('budget');
  const budget = el('input', { id: budgetId, type: 'number', name: 'budget', min: 15, max: 720, step: 15, value: '120' });
  const modeId = uid('mode');
  const names: Record<string, string> = { walk: d.modeWalk, bike: d.modeBike, drive: d.modeDrive };
  const mode = el('select', { id: modeId, name: 'mode' }, ...MODES.map((m) => el('option', { value: m }, names[m] ?? m)));
  const result = el('div', { class: 'result', 'aria-live': 'polite' });

  const drawRoutes = (fc: FeatureCollection<LineString | MultiLineString>) => {
    for (const [i, f] of fc.features.entries()) f.properties = { ...f.properties, color: TEAM_COLORS[i % TEAM_COLORS.length] };
    const src = map.getSource<GeoJSONSource>('routes');
    if (src) src.setData(fc);
    else {
      map.addSource('routes', { type: 'geojson', data: fc });
      map.addLayer({ id: 'routes-line', type: 'line', source: 'routes', layout: { 'line-join': 'round', 'line-cap': 'round' }, paint: { 'line-color': ['get', 'color'], 'line-width': 4, 'line-opacity': 0.85 } }, 'problem-clusters');
    }
  };

  const plan = el('button', { type: 'button', class: 'btn primary', name: 'plan' }, d.plan);
  plan.addEventListener('click', async () => {
    clear(result);
    if (!(await has('/api/v1/routes/plan'))) {
      result.append(el('p', { class: 'warning' }, d.routesNotAvailable));
      return;
    }
    try {
      const body = { problems: [...chosen.keys()], teams: Number(teams.value), budget_minutes: Number(budget.value), mode: mode.value };
      const fc = await request<FeatureCollection<LineString | MultiLineString, { team?: number; stops?: string[]; duration_s?: number; distance_m?: number }>>(
        '/api/v1/routes/plan',
        { method: 'POST', json: body, auth: true },
      );
      drawRoutes(fc);
      result.append(
        el(
          'ol',
          { class: 'route-list' },
          ...fc.features.map((f, i) =>
            el(
              'li',
              {},
              el('span', { class: 'swatch', style: `background:${TEAM_COLORS[i % TEAM_COLORS.length]}` }),
              d.teamSummary(i + 1, f.properties.stops?.length ?? 0, Math.round((f.properties.duration_s ?? 0) / 60), Math.round(f.properties.distance_m ?? 0)),
            ),
          ),
        ),
      );
    } catch (e) {
      result.append(el('p', { class: 'error' }, e instanceof Error ? e.message : String(e)));
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
    el('div', { class: 'field-row' },
      el('div', { class: 'field' }, el('label', { for: teamsId, class: 'label' }, d.teams), teams),
      el('div', { class: 'field' }, el('label', { for: budgetId, class: 'label' }, d.timeBudget), budget),
      el('div', { class: 'field' }, el('label', { for: modeId, class: 'label' }, d.mode), mode),
    ),
    plan,
    result,
  );
  renderChosen();
  problems.setFilter(toApiFilter(filters));
  if (!token()) result.append(el('p', { class: 'muted' }, d.needToken));

  return {
    unmount() {
      if (map.getLayer('routes-line')) map.removeLayer('routes-line');
      if (map.getSource('routes')) map.removeSource('routes');
      problems.onSelect = null;
      problems.select(null);
      problems.auth = false;
    },
  };
}
