// The public map (no login): filters, heat and zone toggles, the three-surroundings ranking, and
// a popup per problem. What it shows is what the API shows anonymous callers: no personal data,
// indoor problems at generalised positions.

import maplibregl from 'maplibre-gl';
import type { LngLatBoundsLike } from 'maplibre-gl';
import { getHistory, has, query, request } from '../api';
import type { ProblemPage, Ranking, RankingRow, ZoneFeature } from '../api';
import type { App, View } from '../app';
import { ZONE_COLORS, categoryName } from '../colors';
import { clear, el } from '../dom';
import { filterControls, filtersFromParams, filtersToParams, periodStart, toApiFilter } from '../filters';
import { lang, t } from '../i18n';
import { problemCard } from '../popup';

const POI_KINDS = ['school', 'park', 'market'] as const;

function poiKindName(k: string): string {
  const d = t();
  return k === 'school' ? d.poiSchool : k === 'park' ? d.poiPark : d.poiMarket;
}

/** A status line: how many problems are drawn, loading, errors. */
export function statusLine(app: App): HTMLElement {
  const line = el('p', { class: 'status-line', 'aria-live': 'polite' });
  const render = () => {
    const s = app.problems.state;
    const d = t();
    line.classList.toggle('error', !!s.error);
    if (s.error) line.textContent = `${d.loadFailed}: ${s.error}`;
    else if (s.loading) line.textContent = d.loading;
    else line.textContent = (s.truncated ? d.shownPartial(s.count) : d.shown(s.count)) + (s.clamped ? ` ${d.areaClamped}` : '');
  };
  render();
  const off = app.problems.subscribe(() => {
    // The line leaves the page with its view.
    if (!line.isConnected) off();
    else render();
  });
  return line;
}

export function mountPublic(app: App): View {
  const d = t();
  const { map, problems, zones, cats, panel } = app;
  const p = app.hash.params;
  problems.auth = false;
  let filters = filtersFromParams(p, new Set(cats.map((c) => c.code)));
  let popup: maplibregl.Popup | null = null;

  problems.onSelect = (f, at) => {
    popup?.remove();
    problems.select(f);
    const card = problemCard(f, cats);
    popup = new maplibregl.Popup({ maxWidth: '300px', focusAfterOpen: false })
      .setLngLat(at)
      .setDOMContent(card)
      .addTo(map);
    popup.on('close', () => problems.select(null));
    // A fixed problem shows its verified after-photo (the only photos the public sees).
    if (f.properties.status === 'closed') {
      void getHistory(f.properties.id, false)
        .then((h) => {
          if (!h.public_photo) return;
          const full = h.public_photo;
          card.append(el('a', { href: full, target: '_blank', rel: 'noopener', class: 'public-photo' }, el('img', { src: `${full}?size=thumb`, alt: t().evidencePhoto, width: 240 })));
        })
        .catch(() => undefined);
    }
  };

  const heatBox = el('input', { type: 'checkbox', name: 'heat', checked: p.get('heat') === '1' });
  heatBox.addEventListener('change', () => {
    void problems.setHeat(heatBox.checked);
    if (heatBox.checked) p.set('heat', '1');
    else p.delete('heat');
    app.syncUrl();
  });
  const zonesBox = el('input', { type: 'checkbox', name: 'zones', checked: p.get('zones') !== '0' });
  zonesBox.addEventListener('change', () => {
    zones.setVisible(zonesBox.checked);
    if (zonesBox.checked) p.delete('zones');
    else p.set('zones', '0');
    app.syncUrl();
  });

  const rankingKind: string = POI_KINDS.includes(p.get('rank') as never) ? (p.get('rank') as string) : 'school';
  const ranking = rankingPanel(app, rankingKind, (k) => {
    if (k === 'school') p.delete('rank');
    else p.set('rank', k);
    app.syncUrl();
  });

  clear(panel);
  panel.append(
    el('h2', { class: 'panel-title' }, d.filters),
    filterControls(cats, filters, (f) => {
      filters = f;
      filtersToParams(f, p);
      app.syncUrl();
      problems.setFilter(toApiFilter(f));
    }),
    el(
      'div',
      { class: 'toggles' },
      el('label', { class: 'toggle' }, heatBox, el('span', {}, d.heat)),
      el('label', { class: 'toggle' }, zonesBox, el('span', {}, d.zones)),
    ),
    statusLine(app),
    ranking.root,
  );

  problems.setFilter(toApiFilter(filters));
  zones.setVisible(zonesBox.checked);
  void problems.setHeat(heatBox.checked);
  // The ranking waits for the map's first render: it is below the fold and not urgent.
  void app.firstIdle.then(() => ranking.load());

  return {
    unmount() {
      popup?.remove();
      problems.onSelect = null;
      problems.select(null);
    },
  };
}

/** Bounds of a zone polygon, for "show me this zone". */
function zoneBounds(z: ZoneFeature): LngLatBoundsLike | null {
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

async function mapLimit<T, R>(items: T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/** `▲3` / `▼1` / `＝`: the change of the count against the previous period of equal length. */
function changeText(r: RankingRow): string {
  if (r.previous_count === undefined) return '';
  const d = r.count - r.previous_count;
  return d === 0 ? '＝' : `${d > 0 ? '▲' : '▼'}${Math.abs(d)}`;
}

/** A row's details for its tooltip: score, previous score and rank, driving categories. */
function rowTitle(r: RankingRow): string {
  if (r.score === undefined) return r.name;
  const zh = lang() === 'zh';
  const parts = [r.name, `${zh ? '热度' : 'heat'} ${r.score.toFixed(2)}/ha`];
  if (r.previous_score !== undefined) {
    parts.push(`${zh ? '上期' : 'previous period'} ${r.previous_score.toFixed(2)}/ha, ${r.previous_count ?? '?'} (#${r.previous_rank ?? '?'})`);
  }
  const cats = (r.top_categories ?? []).map((c) => `${categoryName({ zh: c.name, en: c.name_en })} ${c.count}`);
  if (cats.length) parts.push(cats.join(', '));
  return parts.join(' · ');
}

/**
 * The three-surroundings ranking: a tab per kind of place (school, park, market) and the worst
 * zones of that kind this month. `onKind` hears the tab chosen; `load` draws the first one.
 */
export function rankingPanel(app: App, initialKind: string, onKind: (kind: string) => void = () => undefined): { root: HTMLElement; load: () => Promise<void> } {
  const d = t();
  const rankingBody = el('div', { class: 'ranking-body' });
  let rankingKind = initialKind;
  const rankTabs = el(
    'div',
    { class: 'tabs', role: 'tablist' },
    ...POI_KINDS.map((k) =>
      el(
        'button',
        {
          type: 'button',
          role: 'tab',
          class: `tab${k === rankingKind ? ' active' : ''}`,
          'data-kind': k,
          'aria-selected': k === rankingKind ? 'true' : 'false',
          style: `--accent:${ZONE_COLORS[k]}`,
          onclick: () => {
            rankingKind = k;
            onKind(k);
            for (const b of rankTabs.querySelectorAll('button')) {
              const on = b.dataset.kind === k;
              b.classList.toggle('active', on);
              b.setAttribute('aria-selected', on ? 'true' : 'false');
            }
            void renderRanking(app, rankingKind, rankingBody);
          },
        },
        poiKindName(k),
      ),
    ),
  );
  return {
    root: el('section', { class: 'ranking' }, el('h2', { class: 'panel-title' }, d.ranking), rankTabs, rankingBody),
    load: () => renderRanking(app, rankingKind, rankingBody),
  };
}

/**
 * "Worst school surroundings this month". Uses the server's ranking (`GET /api/v1/heat/rankings`:
 * one request, with heat scores, the change against the previous period and the categories
 * driving each zone) when the server declares it; otherwise ranks the zones by
 * the problems reported inside each this month, counted by the server (`numberMatched` of
 * `GET /api/v1/zones/{id}/problems`), and says so.
 */
async function renderRanking(app: App, kind: string, body: HTMLElement): Promise<void> {
  const d = t();
  clear(body);
  body.append(el('p', { class: 'muted' }, d.loading));
  let rows: RankingRow[];
  let note: string;
  const from = periodStart('month');
  try {
    if (await has('/api/v1/heat/rankings')) {
      // Ordered by the problems reported this month, as the panel's title says ("本月问题最多的…");
      // `order: 'score'` would rank by heat score instead. Heat score, change against the
      // previous period and driving categories are in each row's tooltip.
      const r = await request<Ranking>(`/api/v1/heat/rankings${query({ poi_kind: kind, n: 10, from, order: 'count' })}`);
      rows = r.items;
      note = '';
    } else {
      await app.zonesReady;
      const zs = app.zones.zones.filter((z) => z.properties.poi_kind === kind);
      rows = await mapLimit(zs, 4, async (z) => {
        const [all, open] = await Promise.all([
          request<ProblemPage>(`/api/v1/zones/${z.properties.id}/problems${query({ limit: 1, from })}`),
          request<ProblemPage>(`/api/v1/zones/${z.properties.id}/problems${query({ limit: 1, from, status: 'open' })}`),
        ]);
        return { zone: z.properties.id, name: z.properties.name, count: all.numberMatched ?? all.numberReturned, open: open.numberMatched ?? open.numberReturned };
      });
      rows.sort((a, b) => b.count - a.count || (b.open ?? 0) - (a.open ?? 0) || a.name.localeCompare(b.name));
      note = `${d.rankingNotAvailable} ${d.rankingFromCounts}`;
    }
  } catch (e) {
    clear(body);
    body.append(el('p', { class: 'error' }, `${d.loadFailed}: ${e instanceof Error ? e.message : String(e)}`));
    return;
  }
  clear(body);
  body.append(el('h3', { class: 'ranking-title' }, d.rankingTitle(poiKindName(kind))));
  if (rows.length === 0) {
    body.append(el('p', { class: 'muted' }, d.rankingEmpty));
  } else {
    const max = Math.max(1, ...rows.map((r) => r.count));
    body.append(
      el(
        'ol',
        { class: 'ranking-list' },
        ...rows.slice(0, 10).map((r) =>
          el(
            'li',
            {},
            el(
              'button',
              {
                type: 'button',
                class: 'rank-row',
                title: rowTitle(r),
                'data-zone': r.zone,
                'data-count': r.count,
                'data-score': r.score ?? null,
                onclick: () => {
                  const z = app.zones.zones.find((x) => x.properties.id === r.zone);
                  const b = z && zoneBounds(z);
                  if (b) app.map.fitBounds(b, { padding: 40, maxZoom: 17 });
                },
              },
              el('span', { class: 'rank-name' }, r.name),
              el('span', { class: 'rank-bar', style: `--w:${(100 * r.count) / max}%;--accent:${ZONE_COLORS[kind] ?? '#64748b'}` }),
              el(
                'span',
                { class: 'rank-count' },
                d.rankTotal(r.count),
                r.open !== undefined ? el('small', {}, ` · ${d.rankOpen(r.open)}`) : null,
                r.previous_count !== undefined ? el('small', { class: 'rank-change' }, ` ${changeText(r)}`) : null,
              ),
            ),
          ),
        ),
      ),
    );
  }
  if (note) body.append(el('p', { class: 'note' }, note));
}
