// Staff work around the lifecycle: the inbox (tasks, rework, look-back re-inspections due,
// escalations, fixes to verify) kept live by the server's event stream, evidence photos as
// thumbnails, and the street office's assessment report (综合评价).

import { ApiError, maybeSignedIn, query, request, token, tokenHeader } from '../api';
import { clear, el } from '../dom';
import { formatTime, lang } from '../i18n';

export interface InboxItem {
  id: string;
  category: string;
  category_zh: string;
  status: string;
  severity: string;
  description: string;
  deadline: string | null;
  overdue: boolean;
  rework_count: number;
  lon: number;
  lat: number;
  version: number;
  closed_at?: string;
  due_at?: string;
}

interface InboxList {
  count: number;
  items: InboxItem[];
}

export interface Inbox {
  tasks: InboxList;
  rework: InboxList;
  reinspections: InboxList;
  escalations: InboxList;
  to_verify: InboxList;
  at: string;
}

function words() {
  return lang() === 'en'
    ? {
        inbox: 'My inbox',
        tasks: 'Tasks',
        rework: 'Sent back',
        reinspections: 'Look-backs due',
        escalations: 'Escalated',
        toVerify: 'To verify',
        empty: 'Nothing waiting.',
        live: 'live',
        clean: 'Still clean',
        cameBack: 'Came back',
        closedAt: 'closed',
        overdue: 'overdue',
        assessment: 'Assessment (weekly report)',
        lastWeek: 'Last week',
        thisWeek: 'This week',
        last30: 'Last 30 days',
        byStreet: 'Whole street',
        byZone: 'By zone',
        byChief: 'By chief',
        csv: 'Download CSV',
        print: 'Printable page',
        group: 'Group',
        reported: 'Reported',
        closed: 'Closed',
        onTime: 'On time',
        rework2: 'Rework',
        recurred: 'Recurred',
        median: 'Median h',
        open: 'Open',
        prev: 'previous',
      }
    : {
        inbox: '我的待办',
        tasks: '待整改',
        rework: '被退回',
        reinspections: '回头看到期',
        escalations: '已上报块长',
        toVerify: '待核查',
        empty: '暂无待办。',
        live: '实时',
        clean: '保持良好',
        cameBack: '出现回潮',
        closedAt: '结案',
        overdue: '已超期',
        assessment: '综合评价（周报）',
        lastWeek: '上周',
        thisWeek: '本周',
        last30: '近 30 天',
        byStreet: '全街道',
        byZone: '按责任区',
        byChief: '按责任人',
        csv: '下载 CSV',
        print: '打印版',
        group: '单位',
        reported: '上报',
        closed: '结案',
        onTime: '按期结案率',
        rework2: '返工率',
        recurred: '回潮',
        median: '整改中位时长(时)',
        open: '未结/超期',
        prev: '上期',
      };
}

export function inbox(): Promise<Inbox> {
  return request<Inbox>('/api/v1/me/inbox', { auth: true });
}

/**
 * Follows `/api/v1/me/stream` (a browser session: the cookie goes with it) and calls
 * `onChange` for every change; with an API token, which an `EventSource` cannot send, it polls
 * every minute instead. Returns a function that stops it.
 */
export function followChanges(onChange: (change: { id: string; kind: string; mine: boolean }) => void, onLive: (live: boolean) => void): () => void {
  if (token() || !maybeSignedIn() || typeof EventSource === 'undefined') {
    const timer = window.setInterval(() => onChange({ id: '', kind: 'poll', mine: false }), 60_000);
    onLive(false);
    return () => window.clearInterval(timer);
  }
  const es = new EventSource('/api/v1/me/stream', { withCredentials: true });
  es.addEventListener('open', () => onLive(true));
  es.addEventListener('error', () => onLive(false));
  es.addEventListener('problem', (e) => {
    try {
      onChange(JSON.parse((e as MessageEvent<string>).data) as { id: string; kind: string; mine: boolean });
    } catch {
      /* a malformed event is ignored */
    }
  });
  es.addEventListener('lagged', () => onChange({ id: '', kind: 'lagged', mine: false }));
  return () => es.close();
}

/**
 * The inbox block: counts, the lists, and buttons for look-backs. `open` shows a problem's detail.
 * Live: reloads when the server says something changed (at most once a second).
 */
export function inboxPanel(open: (id: string) => void): { root: HTMLElement; reload: () => Promise<void>; stop: () => void } {
  const w = words();
  const root = el('section', { class: 'inbox', 'aria-live': 'polite' });
  const liveDot = el('span', { class: 'live-dot', title: w.live });
  let pending: number | null = null;

  const itemRow = (i: InboxItem, extra: HTMLElement | null = null) =>
    el(
      'li',
      { class: `inbox-item${i.overdue ? ' late' : ''}`, 'data-problem': i.id },
      el(
        'button',
        { type: 'button', class: 'link', onclick: () => open(i.id) },
        `${lang() === 'en' ? i.category : i.category_zh}${i.description ? ` · ${i.description}` : ''}`,
      ),
      el('span', { class: 'muted' }, i.due_at ? `${w.closedAt} ${formatTime(i.closed_at ?? null)}` : i.deadline ? formatTime(i.deadline) : ''),
      i.overdue ? el('span', { class: 'badge late' }, w.overdue) : null,
      extra,
    );

  const reinspectButtons = (i: InboxItem, msg: HTMLElement) => {
    const go = async (result: 'clean' | 'came_back') => {
      msg.textContent = '';
      try {
        await request(`/api/v1/problems/${i.id}/reinspect`, { method: 'POST', json: { version: i.version, result }, auth: true });
        await reload();
      } catch (e) {
        msg.textContent = e instanceof Error ? e.message : String(e);
      }
    };
    return el(
      'span',
      { class: 'action-row' },
      el('button', { type: 'button', class: 'btn secondary small', 'data-reinspect': 'clean', onclick: () => void go('clean') }, w.clean),
      el('button', { type: 'button', class: 'btn secondary small', 'data-reinspect': 'came_back', onclick: () => void go('came_back') }, w.cameBack),
    );
  };

  async function reload(): Promise<void> {
    let box: Inbox;
    try {
      box = await inbox();
    } catch (e) {
      clear(root);
      if (!(e instanceof ApiError && (e.status === 401 || e.status === 403))) root.append(el('p', { class: 'error' }, e instanceof Error ? e.message : String(e)));
      return;
    }
    clear(root);
    const msg = el('p', { class: 'field-error', role: 'alert' });
    const sections: [string, string, InboxList, boolean][] = [
      ['tasks', w.tasks, box.tasks, false],
      ['rework', w.rework, box.rework, false],
      ['reinspections', w.reinspections, box.reinspections, true],
      ['escalations', w.escalations, box.escalations, false],
      ['to_verify', w.toVerify, box.to_verify, false],
    ];
    root.append(
      el(
        'h3',
        {},
        w.inbox,
        ' ',
        liveDot,
        ...sections.filter(([, , l]) => l.count > 0).map(([key, label, l]) => el('span', { class: 'inbox-count', 'data-count': key }, `${label} ${l.count}`)),
      ),
    );
    if (sections.every(([, , l]) => l.count === 0)) root.append(el('p', { class: 'muted' }, w.empty));
    for (const [key, label, l, look] of sections) {
      if (l.count === 0 || key === 'tasks') continue; // tasks are the list below the map zone picker
      // Short lists open, long ones folded: the street office's can hold hundreds.
      const shown = l.items.slice(0, 20);
      root.append(
        el(
          'details',
          { class: 'inbox-section', open: l.count <= 3 },
          el('summary', {}, `${label} (${l.count})`),
          el('ul', { class: 'inbox-list', 'data-list': key }, ...shown.map((i) => itemRow(i, look ? reinspectButtons(i, msg) : null))),
          l.count > shown.length ? el('p', { class: 'muted' }, `… +${l.count - shown.length}`) : null,
        ),
      );
    }
    root.append(msg);
  }

  const stop = followChanges(
    () => {
      if (pending !== null) return;
      pending = window.setTimeout(() => {
        pending = null;
        void reload();
      }, 1000);
    },
    (live) => liveDot.classList.toggle('on', live),
  );
  void reload();
  return { root, reload, stop };
}

/** Thumbnails of evidence photos; a click opens the full photo. Fetched with the staff credentials. */
export function photoStrip(ids: string[]): HTMLElement | null {
  if (ids.length === 0) return null;
  const strip = el('div', { class: 'photo-strip' });
  for (const id of ids) {
    const img = el('img', { alt: '', class: 'thumb', 'data-photo': id, width: 96, height: 64 });
    const link = el('a', { href: '#', class: 'thumb-link' }, img);
    strip.append(link);
    void photoUrl(id, true).then((u) => {
      if (u) img.src = u;
    });
    link.addEventListener('click', (e) => {
      e.preventDefault();
      void photoUrl(id, false).then((u) => {
        if (u) window.open(u, '_blank', 'noopener');
      });
    });
  }
  return strip;
}

async function photoUrl(id: string, thumb: boolean): Promise<string | null> {
  try {
    const r = await fetch(`/api/v1/photos/${id}${thumb ? '?size=thumb' : ''}`, { headers: tokenHeader(), credentials: 'same-origin' });
    if (!r.ok) return null;
    return URL.createObjectURL(await r.blob());
  } catch {
    return null;
  }
}

interface Figures {
  reported: number;
  closed: number;
  due: number;
  closed_on_time: number;
  on_time_rate: number | null;
  rework_rate: number | null;
  recurred: number;
  median_fix_hours: number | null;
  open: number;
  overdue: number;
}

interface AssessmentRow {
  key: string;
  name: string;
  current: Figures;
  previous: Figures;
}

interface Assessment {
  from: string;
  to: string;
  by: string;
  rows: AssessmentRow[];
}

/** Monday 00:00 in Shanghai (UTC+8) of the week holding `t`, as an ISO instant. */
function weekStart(t: Date): Date {
  const local = new Date(t.getTime() + 8 * 3600_000);
  const dow = (local.getUTCDay() + 6) % 7;
  const monday = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() - dow);
  return new Date(monday - 8 * 3600_000);
}

/** The assessment block of the street office: period and grouping, a table with bars, CSV and print. */
export function assessmentPanel(): HTMLElement {
  const w = words();
  const root = el('section', { class: 'assessment' });
  const period = el('select', { name: 'assessment-period' }, el('option', { value: 'last' }, w.lastWeek), el('option', { value: 'this' }, w.thisWeek), el('option', { value: '30' }, w.last30));
  const by = el('select', { name: 'assessment-by' }, el('option', { value: 'street' }, w.byStreet), el('option', { value: 'zone' }, w.byZone), el('option', { value: 'chief' }, w.byChief));
  const out = el('div', { class: 'assessment-out' });
  const download = async (format: 'csv' | 'html') => {
    const r = await fetch(`/api/v1/assessment${query({ ...range(), by: by.value, format })}`, { headers: tokenHeader(), credentials: 'same-origin' });
    const u = URL.createObjectURL(await r.blob());
    if (format === 'html') window.open(u, '_blank', 'noopener');
    else el('a', { href: u, download: 'civmap-assessment.csv' }).click();
  };
  const range = () => {
    const now = new Date();
    if (period.value === '30') return { from: new Date(now.getTime() - 30 * 86400_000).toISOString(), to: now.toISOString() };
    const start = weekStart(now);
    return period.value === 'this'
      ? { from: start.toISOString(), to: new Date(start.getTime() + 7 * 86400_000).toISOString() }
      : { from: new Date(start.getTime() - 7 * 86400_000).toISOString(), to: start.toISOString() };
  };
  const pct = (x: number | null) => (x === null ? '–' : `${Math.round(x * 100)}%`);
  async function load(): Promise<void> {
    clear(out);
    out.append(el('p', { class: 'muted' }, '…'));
    let a: Assessment;
    try {
      a = await request<Assessment>(`/api/v1/assessment${query({ ...range(), by: by.value })}`, { auth: true });
    } catch (e) {
      clear(out);
      out.append(el('p', { class: 'error' }, e instanceof Error ? e.message : String(e)));
      return;
    }
    clear(out);
    const head = el('tr', {}, ...[w.group, w.reported, w.closed, w.onTime, w.rework2, w.recurred, w.median, w.open].map((h) => el('th', {}, h)));
    const body = el('tbody');
    for (const r of a.rows) {
      const c = r.current;
      const p = r.previous;
      const bar = el('span', { class: 'bar', style: `width:${Math.round((c.on_time_rate ?? 0) * 100)}%` });
      body.append(
        el(
          'tr',
          { 'data-row': r.key },
          el('td', {}, r.name),
          el('td', {}, String(c.reported), el('small', { class: 'prev', title: w.prev }, String(p.reported))),
          el('td', {}, String(c.closed), el('small', { class: 'prev', title: w.prev }, String(p.closed))),
          el('td', { class: 'rate' }, el('span', { class: 'bar-track' }, bar), pct(c.on_time_rate), el('small', { class: 'prev', title: w.prev }, pct(p.on_time_rate))),
          el('td', {}, pct(c.rework_rate), el('small', { class: 'prev', title: w.prev }, pct(p.rework_rate))),
          el('td', {}, String(c.recurred), el('small', { class: 'prev', title: w.prev }, String(p.recurred))),
          el('td', {}, c.median_fix_hours === null ? '–' : c.median_fix_hours.toFixed(1)),
          el('td', {}, `${c.open}/${c.overdue}`),
        ),
      );
    }
    out.append(
      el('p', { class: 'muted' }, `${formatTime(a.from)} – ${formatTime(a.to)}`),
      el('div', { class: 'table-wrap' }, el('table', { class: 'assessment-table' }, el('thead', {}, head), body)),
    );
  }
  period.addEventListener('change', () => void load());
  by.addEventListener('change', () => void load());
  root.append(
    el('h3', {}, w.assessment),
    el('div', { class: 'loc-row' }, period, by),
    el(
      'div',
      { class: 'action-row' },
      el('button', { type: 'button', class: 'btn secondary small', name: 'assessment-csv', onclick: () => void download('csv') }, w.csv),
      el('button', { type: 'button', class: 'btn secondary small', name: 'assessment-print', onclick: () => void download('html') }, w.print),
    ),
    out,
  );
  void load();
  return root;
}
