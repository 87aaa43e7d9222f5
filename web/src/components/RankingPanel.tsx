// The three-surroundings ranking: a tab per kind of place (school, park, market) and the worst
// zones of that kind this month. Uses the server's ranking (`GET /api/v1/heat/rankings`: one
// request, with heat scores, the change against the previous period and the categories driving
// each zone) when the server declares it; otherwise ranks the zones by the problems reported
// inside each this month, counted by the server (`numberMatched` of
// `GET /api/v1/zones/{id}/problems`), and says so.

import { useState } from 'preact/hooks';
import { has, ranking, zoneProblems } from '../api';
import type { RankingRow } from '../api';
import type { App } from '../app';
import { categoryName, ZONE_COLORS } from '../colors';
import { periodStart } from '../filters';
import { pick, t } from '../i18n';
import { useLoad } from '../hooks';
import { zoneBounds } from '../map/bounds';
import { LoadError } from './LoadError';

export const POI_KINDS = ['school', 'park', 'market'] as const;

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
  if (r.previous_count === undefined || r.previous_count === null) return '';
  const d = r.count - r.previous_count;
  return d === 0 ? '＝' : `${d > 0 ? '▲' : '▼'}${Math.abs(d)}`;
}

/** A row's details for its tooltip: score, previous score and rank, driving categories. */
function rowTitle(r: RankingRow): string {
  if (r.score === undefined || r.score === null) return r.name;
  const d = t();
  const parts = [r.name, d.rankHeat(r.score.toFixed(2))];
  if (typeof r.previous_score === 'number') parts.push(d.rankPrevious(r.previous_score.toFixed(2), String(r.previous_count ?? '?'), String(r.previous_rank ?? '?')));
  const cats = (r.top_categories ?? []).map((c) => `${categoryName({ zh: c.name, en: c.name_en })} ${c.count}`);
  if (cats.length) parts.push(cats.join(', '));
  return parts.join(' · ');
}

async function loadRanking(app: App, kind: string): Promise<{ rows: RankingRow[]; note: string }> {
  const d = t();
  const from = periodStart('month');
  if (await has('/api/v1/heat/rankings')) {
    // Ordered by the problems reported this month, as the panel's title says ("本月问题最多的…");
    // heat score, change and driving categories are in each row's tooltip.
    const r = await ranking({ poi_kind: kind, n: 10, from, order: 'count' });
    return { rows: r.items, note: '' };
  }
  await app.zonesReady;
  const zs = app.zones.zones.filter((z) => z.properties.poi_kind === kind);
  const rows: RankingRow[] = await mapLimit(zs, 4, async (z) => {
    const [all, open] = await Promise.all([zoneProblems(z.properties.id, { limit: 1, from }), zoneProblems(z.properties.id, { limit: 1, from, status: 'open' })]);
    return { zone: z.properties.id, name: z.properties.name, count: all.numberMatched ?? all.numberReturned, open: open.numberMatched ?? open.numberReturned } as RankingRow;
  });
  rows.sort((a, b) => b.count - a.count || (b.open ?? 0) - (a.open ?? 0) || a.name.localeCompare(b.name));
  return { rows, note: `${d.rankingNotAvailable} ${d.rankingFromCounts}` };
}

/**
 * The panel. `initialKind` is the first tab, `onKind` hears the tab chosen; loading waits for
 * `after` (the public map's first render: the panel is below the fold and not urgent).
 */
export function RankingPanel({ app, initialKind, onKind, after }: { app: App; initialKind: string; onKind?: (kind: string) => void; after?: Promise<void> }) {
  const d = t();
  const [kind, setKind] = useState(initialKind);
  const [state] = useLoad(async () => {
    await after;
    return loadRanking(app, kind);
  }, [kind]);
  const rows = state.value?.rows ?? [];
  const max = Math.max(1, ...rows.map((r) => r.count));
  const accent = ZONE_COLORS[kind] ?? '#64748b';
  return (
    <section class="ranking">
      <h2 class="panel-title">{d.ranking}</h2>
      <div class="tabs" role="tablist">
        {POI_KINDS.map((k) => (
          <button
            key={k}
            type="button"
            role="tab"
            class={`tab${k === kind ? ' active' : ''}`}
            data-kind={k}
            aria-selected={k === kind ? 'true' : 'false'}
            style={{ '--accent': ZONE_COLORS[k] }}
            onClick={() => {
              setKind(k);
              onKind?.(k);
            }}
          >
            {pick(d.poi, k)}
          </button>
        ))}
      </div>
      <div class="ranking-body">
        {state.loading ? (
          <p class="muted">{d.loading}</p>
        ) : state.error ? (
          <LoadError error={state.error} />
        ) : (
          <>
            <h3 class="ranking-title">{d.rankingTitle(pick(d.poi, kind))}</h3>
            {rows.length === 0 ? (
              <p class="muted ranking-empty">{d.rankingEmpty(pick(d.poi, kind))}</p>
            ) : (
              <ol class="ranking-list">
                {rows.slice(0, 10).map((r) => (
                  <li key={r.zone}>
                    <button
                      type="button"
                      class="rank-row"
                      title={rowTitle(r)}
                      data-zone={r.zone}
                      data-count={r.count}
                      data-score={r.score ?? undefined}
                      onClick={() => {
                        const z = app.zones.zones.find((x) => x.properties.id === r.zone);
                        const b = z && zoneBounds(z);
                        if (b) app.map.fitBounds(b, { padding: 40, maxZoom: 17 });
                      }}
                    >
                      <span class="rank-name">{r.name}</span>
                      <span class="rank-bar" style={{ '--w': `${(100 * r.count) / max}%`, '--accent': accent }} />
                      <span class="rank-count">
                        {d.rankTotal(r.count)}
                        {typeof r.open === 'number' && <small>{` · ${d.rankOpen(r.open)}`}</small>}
                        {typeof r.previous_count === 'number' && <small class="rank-change">{` ${changeText(r)}`}</small>}
                      </span>
                    </button>
                  </li>
                ))}
              </ol>
            )}
            {rows.some((r) => typeof r.previous_count === 'number') && <p class="note rank-change-note">{d.rankChangeNote}</p>}
            {state.value?.note && <p class="note">{state.value.note}</p>}
          </>
        )}
      </div>
    </section>
  );
}
