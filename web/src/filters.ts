// Problem filters (category, status, period): their URL form, their API form, and the form
// controls that edit them. Shared by the public map and the staff consoles.

import type { Category, ProblemFilter } from './api';
import { categoryColor, categoryName } from './colors';
import { el, uid } from './dom';
import { STATUSES, statusName, t } from './i18n';

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

function periodLabel(p: string): string {
  const d = t();
  switch (p) {
    case '7':
      return d.period7;
    case '30':
      return d.period30;
    case '90':
      return d.period90;
    case 'month':
      return d.periodMonth;
    case '365':
      return d.periodYear;
    default:
      return d.periodAll;
  }
}

/** Form controls for `f`; `onChange` gets a new value on every edit. */
export function filterControls(cats: Category[], f: Filters, onChange: (f: Filters) => void): HTMLElement {
  const d = t();
  let cur: Filters = { ...f, categories: [...f.categories] };
  const emit = () => onChange({ ...cur, categories: [...cur.categories] });

  const summaryText = () =>
    cur.categories.length === 0
      ? d.allCategories
      : cur.categories
          .map((c) => cats.find((x) => x.code === c))
          .filter((c): c is Category => !!c)
          .map(categoryName)
          .join('、');
  const summaryLabel = el('span', { class: 'summary-text' }, summaryText());
  const boxes: HTMLInputElement[] = [];
  const list = el('div', { class: 'cat-list', role: 'group' });
  for (const c of cats) {
    const box = el('input', { type: 'checkbox', value: c.code, checked: cur.categories.includes(c.code) });
    box.addEventListener('change', () => {
      cur.categories = boxes.filter((b) => b.checked).map((b) => b.value);
      summaryLabel.textContent = summaryText();
      emit();
    });
    boxes.push(box);
    list.append(
      el('label', { class: 'cat-item' }, box, el('span', { class: 'swatch', style: `background:${categoryColor(c.code)}` }), categoryName(c)),
    );
  }
  const clearBtn = el(
    'button',
    {
      type: 'button',
      class: 'link',
      onclick: () => {
        for (const b of boxes) b.checked = false;
        cur.categories = [];
        summaryLabel.textContent = summaryText();
        emit();
      },
    },
    d.noneCategories,
  );
  const catDetails = el(
    'details',
    { class: 'cat-select' },
    el('summary', { 'aria-label': d.category }, summaryLabel),
    el('div', { class: 'cat-pop' }, list, clearBtn),
  );

  const statusId = uid('status');
  const statusSel = el(
    'select',
    { id: statusId, name: 'status' },
    el('option', { value: '' }, d.statusAll),
    el('option', { value: 'open' }, d.statusOpen),
    ...STATUSES.map((s) => el('option', { value: s }, statusName(s))),
  );
  statusSel.value = cur.status;
  statusSel.addEventListener('change', () => {
    cur = { ...cur, status: statusSel.value };
    emit();
  });

  const periodId = uid('period');
  const periodSel = el('select', { id: periodId, name: 'period' }, ...PERIODS.map((p) => el('option', { value: p }, periodLabel(p))));
  periodSel.value = cur.period;
  periodSel.addEventListener('change', () => {
    cur = { ...cur, period: periodSel.value };
    emit();
  });

  return el(
    'div',
    { class: 'filters' },
    el('div', { class: 'field' }, el('span', { class: 'label' }, d.category), catDetails),
    el('div', { class: 'field-row' },
      el('div', { class: 'field' }, el('label', { for: statusId, class: 'label' }, d.status), statusSel),
      el('div', { class: 'field' }, el('label', { for: periodId, class: 'label' }, d.period), periodSel),
    ),
  );
}
