// The street-office console: sign in; the inbox (escalations, fixes to verify; live); every
// problem of the street with filters and a table; a problem's detail, history with evidence
// photos and lifecycle steps (dispatch, escalate, rectify, reject, verify, recur); the weekly
// assessment report (综合评价) with CSV and a printable page.

import type { Map as MlMap } from 'maplibre-gl';
import { allProblems, ApiError, getProblem, token } from '../api';
import type { ProblemFeature } from '../api';
import type { App, View } from '../app';
import { categoryColor } from '../colors';
import { clear, el } from '../dom';
import { filterControls, filtersFromParams, filtersToParams, toApiFilter } from '../filters';
import type { Filters } from '../filters';
import { formatTime, severityName, t } from '../i18n';
import { problemCategory, statusBadge } from '../popup';
import { rankingPanel, statusLine } from './public';
import { accountBox, problemDetail } from './staff';
import { assessmentPanel, inboxPanel } from './work';

type SortKey = 'reported' | 'deadline' | 'severity';
const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };
/** Rows drawn at once; "load more" adds as many again. */
const PAGE = 100;

function sortProblems(list: ProblemFeature[], key: SortKey): ProblemFeature[] {
  const byTime = (s: string | null) => (s ? Date.parse(s) : Number.MAX_SAFE_INTEGER);
  const out = [...list];
  if (key === 'reported') out.sort((a, b) => Date.parse(b.properties.reported_at) - Date.parse(a.properties.reported_at));
  else if (key === 'deadline')
    // Overdue first, then by deadline; problems without one last.
    out.sort(
      (a, b) =>
        Number(b.properties.overdue) - Number(a.properties.overdue) || byTime(a.properties.deadline) - byTime(b.properties.deadline),
    );
  else out.sort((a, b) => (SEVERITY_RANK[a.properties.severity] ?? 9) - (SEVERITY_RANK[b.properties.severity] ?? 9));
  return out;
}

function flyTo(map: MlMap, f: ProblemFeature): void {
  const [lon, lat] = f.geometry.coordinates as [number, number];
  map.easeTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 17) });
}

export function mountOffice(app: App): View {
  const d = t();
  const { map, cats, panel, problems } = app;
  const p = app.hash.params;
  let filters: Filters = filtersFromParams(p, new Set(cats.map((c) => c.code)));
  let sort: SortKey = (['reported', 'deadline', 'severity'] as const).includes(p.get('sort') as SortKey) ? (p.get('sort') as SortKey) : 'reported';
  let rows: ProblemFeature[] = [];
  let shown = PAGE;
  let abort: AbortController | null = null;

  problems.auth = true;
  const listBox = el('div', { class: 'list-box' });
  const detailBox = el('div', { class: 'detail-box', hidden: true });
  const count = el('p', { class: 'muted count' });

  const openDetail = (f: ProblemFeature) => {
    problems.select(f);
    p.set('sel', f.properties.id);
    app.syncUrl();
    clear(detailBox);
    detailBox.append(
      problemDetail(
        f,
        cats,
        (g) => {
          problems.upsert(g);
          problems.select(g);
          const i = rows.findIndex((r) => r.properties.id === g.properties.id);
          if (i >= 0) rows[i] = g;
          renderTable();
          void box?.reload();
        },
        closeDetail,
      ),
    );
    listBox.hidden = true;
    detailBox.hidden = false;
    panel.scrollTop = 0;
  };
  const closeDetail = () => {
    problems.select(null);
    p.delete('sel');
    app.syncUrl();
    detailBox.hidden = true;
    listBox.hidden = false;
  };
  problems.onSelect = (f) => openDetail(f);

  const table = el('table', { class: 'problems-table' });
  const moreBtn = el('button', { type: 'button', class: 'btn secondary', onclick: () => ((shown += PAGE), renderTable()) }, d.loadMore);

  function header(key: SortKey | null, label: string): HTMLElement {
    if (!key) return el('th', {}, label);
    return el(
      'th',
      { 'aria-sort': sort === key ? (key === 'reported' ? 'descending' : 'ascending') : 'none' },
      el(
        'button',
        {
          type: 'button',
          class: `sort${sort === key ? ' active' : ''}`,
          onclick: () => {
            sort = key;
            if (key === 'reported') p.delete('sort');
            else p.set('sort', key);
            app.syncUrl();
            rows = sortProblems(rows, sort);
            renderTable();
          },
        },
        label,
      ),
    );
  }

  function renderTable(): void {
    clear(table);
    table.append(
      el(
        'thead',
        {},
        el('tr', {}, header(null, d.colCategory), header(null, d.colStatus), header('reported', d.colReported), header('deadline', d.colDeadline), header('severity', d.colSeverity)),
      ),
    );
    const body = el('tbody');
    for (const f of rows.slice(0, shown)) {
      const pr = f.properties;
      const tr = el(
        'tr',
        { 'data-problem': pr.id, tabindex: 0, class: pr.overdue ? 'late' : '' },
        el('td', {}, el('span', { class: 'swatch', style: `background:${categoryColor(pr.category)}` }), problemCategory(f, cats)),
        el('td', {}, statusBadge(pr.status)),
        el('td', {}, formatTime(pr.reported_at)),
        el('td', { class: pr.overdue ? 'late' : '' }, formatTime(pr.deadline)),
        el('td', {}, severityName(pr.severity)),
      );
      const open = () => {
        flyTo(map, f);
        openDetail(f);
      };
      tr.addEventListener('click', open);
      tr.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') open();
      });
      body.append(tr);
    }
    table.append(body);
    if (rows.length === 0) table.append(el('caption', {}, d.noProblems));
    moreBtn.hidden = rows.length <= shown;
    count.textContent = d.matched(rows.length);
  }

  async function loadTable(): Promise<void> {
    abort?.abort();
    const a = new AbortController();
    abort = a;
    count.textContent = d.loading;
    count.classList.remove('error');
    try {
      // The whole street, without a bbox: the table is the ledger, not the map view.
      const r = await allProblems(toApiFilter(filters), { auth: true, signal: a.signal, max: 10000 });
      if (a.signal.aborted) return;
      rows = sortProblems(r.features, sort);
      shown = PAGE;
      renderTable();
      const sel = p.get('sel');
      const f = sel ? rows.find((x) => x.properties.id === sel) : undefined;
      if (f) openDetail(f);
    } catch (e) {
      if (a.signal.aborted) return;
      count.textContent = `${d.loadFailed}: ${e instanceof ApiError && e.status === 401 ? d.needToken : e instanceof Error ? e.message : String(e)}`;
      count.classList.add('error');
    }
  }

  const reloadAll = () => {
    problems.setFilter(toApiFilter(filters));
    void loadTable();
  };
  const refresh = () => {
    void problems.reload(true);
    void loadTable();
  };

  // Signed in: the inbox (live) and the assessment report join the table.
  let box: ReturnType<typeof inboxPanel> | null = null;
  const workSlot = el('div', { class: 'work-slot' });
  const assessSlot = el('div', { class: 'assess-slot' });
  // The first sign-in (this browser already was, or nobody is) only needs the table: the map
  // loads with the filter below. Later sign-ins reload both.
  let starting = true;
  const account = accountBox(
    (who) => {
      if (who?.role === 'reporter') return;
      box?.stop();
      box = inboxPanel((id) => void getProblem(id, true).then(openDetail));
      clear(workSlot);
      workSlot.append(box.root);
      clear(assessSlot);
      const ranking = rankingPanel(app, 'school');
      assessSlot.append(assessmentPanel(), ranking.root);
      void ranking.load();
      if (starting) void loadTable();
      else refresh();
    },
    () => {
      box?.stop();
      box = null;
      clear(workSlot);
      clear(assessSlot);
      refresh();
    },
  );

  clear(panel);
  panel.append(el('h2', { class: 'panel-title' }, d.navOffice), account.root, workSlot, listBox, detailBox);
  listBox.append(
    filterControls(cats, filters, (f) => {
      filters = f;
      filtersToParams(f, p);
      app.syncUrl();
      reloadAll();
    }),
    statusLine(app),
    el('div', { class: 'table-head' }, el('h3', {}, d.problems), count, el('button', { type: 'button', class: 'btn secondary small', onclick: refresh }, d.refresh)),
    el('div', { class: 'table-wrap' }, table),
    moreBtn,
    assessSlot,
  );
  if (!token()) count.textContent = d.needToken;
  problems.setFilter(toApiFilter(filters));
  void account.ready.then((signedIn) => {
    starting = false;
    if (!signedIn) void loadTable();
  });

  return {
    unmount() {
      box?.stop();
      abort?.abort();
      problems.onSelect = null;
      problems.select(null);
      problems.auth = false;
    },
  };
}
