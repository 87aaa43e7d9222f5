// The street office's problem table (问题台账): case number (a link to the problem's page),
// category, place, zone, responsible chief, status, reported, deadline and how long overdue
// (red). The rows come filtered and sorted from the server (`GET /api/v1/problems/table`, whose
// CSV is the same rows); a header click sorts by its column, a second click reverses it. Drawn a
// page at a time ("load more"); a row opens the problem (click or Enter).

import type { Category, TableRow } from '../api';
import { categoryName } from '../colors';
import { formatCst, statusName, t } from '../i18n';
import { Swatch } from './Swatch';
import { StatusBadge } from './StatusBadge';

export type SortKey = 'case_no' | 'category' | 'place' | 'zone' | 'assignee' | 'status' | 'reported' | 'deadline' | 'overdue';
export const SORT_KEYS: readonly SortKey[] = ['case_no', 'category', 'place', 'zone', 'assignee', 'status', 'reported', 'deadline', 'overdue'];
export type Order = 'asc' | 'desc';

/** How long past its deadline, in the unit a person thinks in (as the server's CSV says it). */
export function overdueText(seconds: number): string {
  const w = t().inbox;
  const ms = seconds * 1000;
  const span = ms >= 48 * 3_600_000 ? w.days(Math.floor(ms / 86_400_000)) : ms >= 3_600_000 ? w.hours(Math.floor(ms / 3_600_000)) : w.minutes(Math.max(1, Math.floor(ms / 60_000)));
  return w.overdueBy(span);
}

/** The category in the current language (from the table, else the server's Chinese name). */
function categoryOf(r: TableRow, cats: Category[]): string {
  const c = cats.find((x) => x.code === r.category);
  return c ? categoryName(c) : r.category_zh;
}

function Head({ label, sortKey, sort, order, onSort, class: cls }: { label: string; sortKey: SortKey; sort: SortKey; order: Order; onSort: (k: SortKey) => void; class?: string }) {
  const active = sort === sortKey;
  // The server's natural order: newest first for `reported`, most overdue first for `overdue`.
  const natural = sortKey === 'reported' || sortKey === 'overdue' ? 'descending' : 'ascending';
  const reversed = natural === 'ascending' ? 'descending' : 'ascending';
  return (
    <th class={cls} aria-sort={active ? (order === 'asc' ? natural : reversed) : 'none'} data-sort={sortKey}>
      <button type="button" class={`sort${active ? ' active' : ''}`} onClick={() => onSort(sortKey)}>
        {label}
      </button>
    </th>
  );
}

export function ProblemTable(props: { rows: TableRow[]; cats: Category[]; shown: number; sort: SortKey; order: Order; onSort: (k: SortKey) => void; onOpen: (r: TableRow) => void; onMore: () => void }) {
  const d = t();
  const c = d.col;
  const { rows, sort, order, onSort } = props;
  const head = (label: string, key: SortKey, cls?: string) => <Head label={label} sortKey={key} sort={sort} order={order} onSort={onSort} class={cls} />;
  return (
    <>
      <div class="table-wrap">
        <table class="problems-table">
          <thead>
            <tr>
              {head(c.caseNo, 'case_no')}
              {head(c.category, 'category')}
              {head(c.place, 'place', 'wrap')}
              {head(c.zone, 'zone', 'wrap')}
              {head(c.chief, 'assignee', 'wrap')}
              {head(c.status, 'status')}
              {head(c.reported, 'reported')}
              {head(c.deadline, 'deadline')}
              {head(c.overdue, 'overdue')}
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, props.shown).map((r) => (
              <tr key={r.id} data-problem={r.id} data-case={r.case_no} tabIndex={0} class={r.overdue_s != null ? 'late' : ''} onClick={() => props.onOpen(r)} onKeyDown={(e) => e.key === 'Enter' && props.onOpen(r)}>
                <td class="case-no">
                  {/* The problem's own page; the row itself opens it here. */}
                  <a href={`/p/${encodeURIComponent(r.case_no)}`} onClick={(e) => e.stopPropagation()}>
                    {r.case_no}
                  </a>
                </td>
                <td>
                  <Swatch category={r.category} />
                  {categoryOf(r, props.cats)}
                </td>
                <td class="wrap place">{r.place}</td>
                <td class="wrap zone">{r.zone_name ?? '—'}</td>
                <td class="wrap chief">{r.assignee_name ?? '—'}</td>
                <td title={statusName(r.status)}>
                  <StatusBadge status={r.status} />
                </td>
                <td class="time">{formatCst(r.reported_at)}</td>
                <td class="time deadline">{formatCst(r.deadline)}</td>
                <td class={r.overdue_s != null ? 'late overdue' : 'overdue'}>{r.overdue_s != null ? overdueText(r.overdue_s) : ''}</td>
              </tr>
            ))}
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
