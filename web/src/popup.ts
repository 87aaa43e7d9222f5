// The content of a problem's popup (public map) and of its detail card (staff consoles).

import type { Category, HistoryEvent, ProblemFeature } from './api';
import { categoryColor, categoryName } from './colors';
import { el } from './dom';
import { eventName, formatTime, lang, severityName, statusName, t } from './i18n';

function row(label: string, value: Node | string, cls = ''): HTMLElement {
  return el('div', { class: `kv ${cls}` }, el('span', { class: 'k' }, label), el('span', { class: 'v' }, value));
}

/** The category label of a problem in the current language. */
export function problemCategory(f: ProblemFeature, cats: Category[]): string {
  const c = cats.find((x) => x.code === f.properties.category);
  if (c) return categoryName(c);
  return lang() === 'zh' ? f.properties.category_name : f.properties.category_name_en;
}

/** A status badge. */
export function statusBadge(status: string, overdue = false): HTMLElement {
  return el('span', { class: `badge status-${status}${overdue ? ' overdue' : ''}` }, statusName(status));
}

/** Category, status, dates, severity and description of a problem. */
export function problemCard(f: ProblemFeature, cats: Category[]): HTMLElement {
  const d = t();
  const p = f.properties;
  const head = el(
    'div',
    { class: 'card-head' },
    el('span', { class: 'swatch big', style: `background:${categoryColor(p.category)}` }),
    el('strong', { class: 'card-title' }, problemCategory(f, cats)),
    statusBadge(p.status),
    p.overdue ? el('span', { class: 'badge overdue' }, d.overdue) : null,
  );
  return el(
    'div',
    { class: 'problem-card', 'data-problem': p.id },
    head,
    p.description ? el('p', { class: 'desc' }, p.description) : null,
    row(d.severity, severityName(p.severity)),
    row(d.reportedAt, formatTime(p.reported_at)),
    row(d.updatedAt, formatTime(p.updated_at)),
    p.deadline ? row(d.deadline, formatTime(p.deadline), p.overdue ? 'late' : '') : null,
    p.location_generalised ? el('p', { class: 'note' }, d.generalised) : null,
  );
}

/** A problem's history (the rectification ledger), oldest first. */
/** A problem's history; staff views pass `photos` to show each step's evidence. */
export function historyList(events: HistoryEvent[], photos: ((ids: string[]) => HTMLElement | null) | null = null): HTMLElement {
  return el(
    'ol',
    { class: 'history' },
    ...events.map((e) => {
      const from = typeof e.data.from === 'string' ? e.data.from : null;
      const to = typeof e.data.to === 'string' ? e.data.to : null;
      return el(
        'li',
        { class: `ev ev-${e.kind}` },
        el('span', { class: 'ev-kind' }, eventName(e.kind)),
        el('time', { datetime: e.at }, formatTime(e.at)),
        from && to ? el('span', { class: 'ev-move' }, `${statusName(from)} → ${statusName(to)}`) : null,
        e.note ? el('div', { class: 'ev-note' }, e.note) : null,
        photos && e.photos?.length ? photos(e.photos) : null,
      );
    }),
  );
}
