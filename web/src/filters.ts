// Problem filters (category, status, period): their URL form and their API form. The form
// controls that edit them are `components/FilterControls.tsx`.

import type { ProblemFilter } from './api';
import { STATUSES } from './i18n';

export interface Filters {
  /** Category codes; empty means every category. */
  categories: string[];
  /** `''` (any), `open`, or one status code. */
  status: string;
  /** `''` (any time), `month` (since the 1st of this month, local time) or a number of days. */
  period: string;
}

export const PERIODS = ['', '7', '30', '90', 'month', '365'] as const;

export function defaultFilters(): Filters {
  return { categories: [], status: '', period: '' };
}

/** Reads filters from URL parameters (`cat`, `status`, `period`), ignoring values it does not know. */
export function filtersFromParams(p: URLSearchParams, known: Set<string> | null): Filters {
  const cats = (p.get('cat') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && (!known || known.has(s)));
  const status = p.get('status') ?? '';
  const period = p.get('period') ?? '';
  return {
    categories: cats,
    status: status === 'open' || (STATUSES as readonly string[]).includes(status) ? status : '',
    period: (PERIODS as readonly string[]).includes(period) ? period : '',
  };
}

/** Writes filters into URL parameters (absent when default, so links stay short). */
export function filtersToParams(f: Filters, p: URLSearchParams): void {
  const set = (k: string, v: string) => (v ? p.set(k, v) : p.delete(k));
  set('cat', f.categories.join(','));
  set('status', f.status);
  set('period', f.period);
}

/** The start of a period as an RFC 3339 instant, or `undefined` for "any time". */
export function periodStart(period: string, now: Date = new Date()): string | undefined {
  if (!period) return undefined;
  if (period === 'month') {
    return new Date(now.getFullYear(), now.getMonth(), 1).toISOString();
  }
  const days = Number(period);
  if (!Number.isFinite(days) || days <= 0) return undefined;
  return new Date(now.getTime() - days * 86_400_000).toISOString();
}

/** The API form of the filters. */
export function toApiFilter(f: Filters): ProblemFilter {
  return {
    category: f.categories.length ? f.categories.join(',') : undefined,
    status: f.status || undefined,
    from: periodStart(f.period),
  };
}
