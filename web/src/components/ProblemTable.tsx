// The street office's table of problems: sortable by reported time, deadline and severity,
// drawn a page at a time ("load more"); a row opens the problem (click or Enter).

import type { Category, ProblemFeature } from '../api';
import { formatTime, t } from '../i18n';
import { problemCategory } from '../colors';
import { Swatch } from './Swatch';
import { SeverityBadge } from './SeverityBadge';
import { StatusBadge } from './StatusBadge';

export type SortKey = 'reported' | 'deadline' | 'severity';
export const SORT_KEYS: readonly SortKey[] = ['reported', 'deadline', 'severity'];
const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** `list` in the order of `key`: newest first; overdue first then by deadline; most severe first. */
export function sortProblems(list: ProblemFeature[], key: SortKey): ProblemFeature[] {
  const byTime = (s: string | null | undefined) => (s ? Date.parse(s) : Number.MAX_SAFE_INTEGER);
  const out = [...list];
  if (key === 'reported') out.sort((a, b) => Date.parse(b.properties.reported_at) - Date.parse(a.properties.reported_at));
  else if (key === 'deadline') out.sort((a, b) => Number(b.properties.overdue) - Number(a.properties.overdue) || byTime(a.properties.deadline) - byTime(b.properties.deadline));
  else out.sort((a, b) => (SEVERITY_RANK[a.properties.severity] ?? 9) - (SEVERITY_RANK[b.properties.severity] ?? 9));
  return out;
}

function Head({ label, sortKey, sort, onSort }: { label: string; sortKey?: SortKey; sort: SortKey; onSort: (k: SortKey) => void }) {
  if (!sortKey) return <th>{label}</th>;
  const active = sort === sortKey;
  return (
    <th aria-sort={active ? (sortKey === 'reported' ? 'descending' : 'ascending') : 'none'}>
      <button type="button" class={`sort${active ? ' active' : ''}`} onClick={() => onSort(sortKey)}>
        {label}
      </button>
    </th>
  );
}

export function ProblemTable(props: { rows: ProblemFeature[]; cats: Category[]; shown: number; sort: SortKey; onSort: (k: SortKey) => void; onOpen: (f: ProblemFeature) => void; onMore: () => void }) {
  const d = t();
  const { rows, sort, onSort } = props;
  return (
    <>
      <div class="table-wrap">
        <table class="problems-table">
          <thead>
            <tr>
              <Head label={d.col.category} sort={sort} onSort={onSort} />
              <Head label={d.col.status} sort={sort} onSort={onSort} />
              <Head label={d.col.reported} sortKey="reported" sort={sort} onSort={onSort} />
              <Head label={d.col.deadline} sortKey="deadline" sort={sort} onSort={onSort} />
              <Head label={d.col.severity} sortKey="severity" sort={sort} onSort={onSort} />
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, props.shown).map((f) => {
              const pr = f.properties;
              return (
                <tr key={pr.id} data-problem={pr.id} tabIndex={0} class={pr.overdue ? 'late' : ''} onClick={() => props.onOpen(f)} onKeyDown={(e) => e.key === 'Enter' && props.onOpen(f)}>
                  <td>
                    <Swatch category={pr.category} />
                    {problemCategory(f, props.cats)}
                  </td>
                  <td>
                    <StatusBadge status={pr.status} />
                  </td>
                  <td>{formatTime(pr.reported_at)}</td>
                  <td class={pr.overdue ? 'late' : ''}>{formatTime(pr.deadline)}</td>
                  <td>
                    <SeverityBadge severity={pr.severity} />
                  </td>
                </tr>
              );
            })}
          </tbody>
          {rows.length === 0 && <caption>{d.noProblems}</caption>}
        </table>
      </div>
      {rows.length > props.shown && (
        <button type="button" class="btn secondary" onClick={props.onMore}>
          {d.loadMore}
        </button>
      )}
    </>
  );
}
