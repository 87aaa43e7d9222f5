// The chief console (点长, 路长, 片长): sign in (name and password, or an API token), see the
// inbox (rework, look-backs due, escalations; live), pick my zone, see its open problems by
// deadline with overdue ones first, open one, rectify it (or escalate it). The server says who is signed in (`GET /api/v1/me`): the zones assigned to the
// chief come first, and the server shows the chief only the problems of its zones.

import type { GeoJSONSource, LngLatBoundsLike } from 'maplibre-gl';
import { allProblems, ApiError, getProblem, has, request, zones as fetchZones } from '../api';
import type { Action, ProblemFeature, ZoneFeature } from '../api';
import type { App, View } from '../app';
import { categoryColor } from '../colors';
import { clear, el, uid } from '../dom';
import { formatTime, t } from '../i18n';
import { problemCategory, statusBadge } from '../popup';
import { accountBox, problemDetail } from './staff';
import { inboxPanel } from './work';

const CHIEF_ZONE_KINDS = 'point,road,area';

/** What a chief does here; verifying and rejecting belong to the street office and area-chiefs. */
const CHIEF_ACTIONS: Action[] = ['rectify', 'escalate', 'recur'];

function bounds(z: ZoneFeature): LngLatBoundsLike | null {
  const xs: number[] = [];
  const ys: number[] = [];
  const polys = z.geometry.type === 'Polygon' ? [z.geometry.coordinates] : z.geometry.coordinates;
  for (const poly of polys) for (const ring of poly) for (const [x, y] of ring as [number, number][]) (xs.push(x), ys.push(y));
  return xs.length ? [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] : null;
}

/**
 * The chief's order: work still to do before work awaiting verification (rectified), then overdue
 * first, then by deadline (none last).
 */
export function byDeadline(a: ProblemFeature, b: ProblemFeature): number {
  const waiting = (f: ProblemFeature) => Number(f.properties.status === 'rectified');
  const dl = (f: ProblemFeature) => (f.properties.deadline ? Date.parse(f.properties.deadline) : Number.MAX_SAFE_INTEGER);
  return waiting(a) - waiting(b) || Number(b.properties.overdue) - Number(a.properties.overdue) || dl(a) - dl(b);
}

export function mountChief(app: App): View {
  const d = t();
  const { map, cats, panel, problems } = app;
  const p = app.hash.params;
  problems.auth = true;
  let zoneList: ZoneFeature[] = [];
  let mine = new Set<string>();
  let tasks: ProblemFeature[] = [];

  const zoneId = uid('zone');
  const zoneSel = el('select', { id: zoneId, name: 'zone' });
  const taskBox = el('div', { class: 'list-box' });
  const detailBox = el('div', { class: 'detail-box', hidden: true });
  const msg = el('p', { class: 'muted' });

  const showZone = (z: ZoneFeature | undefined) => {
    map.getSource<GeoJSONSource>('zones')?.setData({ type: 'FeatureCollection', features: z ? [z] : [] });
    app.zones.setVisible(true);
    const b = z && bounds(z);
    if (b) map.fitBounds(b, { padding: 40, maxZoom: 18 });
  };

  const openDetail = (f: ProblemFeature) => {
    problems.select(f);
    clear(detailBox);
    detailBox.append(
      problemDetail(
        f,
        cats,
        (g) => {
          problems.upsert(g);
          problems.select(g);
          tasks = tasks.map((x) => (x.properties.id === g.properties.id ? g : x));
          renderTasks();
          void box?.reload();
        },
        () => {
          problems.select(null);
          detailBox.hidden = true;
          taskBox.hidden = false;
        },
        CHIEF_ACTIONS,
      ),
    );
    taskBox.hidden = true;
    detailBox.hidden = false;
  };
  problems.onSelect = (f) => openDetail(f);
  // The inbox: rework, look-backs due, escalations; live while the page is open.
  let box: ReturnType<typeof inboxPanel> | null = null;
  const inboxSlot = el('div', { class: 'inbox-slot' });
  const startInbox = () => {
    box?.stop();
    clear(inboxSlot);
    box = inboxPanel((id) => void getProblem(id, true).then(openDetail));
    inboxSlot.append(box.root);
  };

  function renderTasks(): void {
    clear(taskBox);
    if (tasks.length === 0) {
      taskBox.append(el('p', { class: 'muted' }, d.noProblems));
      return;
    }
    taskBox.append(
      el('p', { class: 'muted' }, d.matched(tasks.length)),
      el(
        'ul',
        { class: 'task-list' },
        ...tasks.map((f) =>
          el(
            'li',
            {},
            el(
              'button',
              { type: 'button', class: `task${f.properties.overdue ? ' late' : ''}`, 'data-problem': f.properties.id, 'data-status': f.properties.status, onclick: () => openDetail(f) },
              el('span', { class: 'swatch', style: `background:${categoryColor(f.properties.category)}` }),
              el('span', { class: 'task-name' }, problemCategory(f, cats)),
              statusBadge(f.properties.status),
              el('span', { class: 'task-deadline' }, f.properties.deadline ? `${d.deadline} ${formatTime(f.properties.deadline)}` : ''),
            ),
          ),
        ),
      ),
    );
  }

  async function loadTasks(): Promise<void> {
    const z = zoneList.find((x) => x.properties.id === zoneSel.value);
    showZone(z);
    if (!z) {
      // No zone chosen: show no problems rather than the whole street's.
      problems.setFilter(null);
      tasks = [];
      clear(taskBox);
      p.delete('zone');
      app.syncUrl();
      return;
    }
    p.set('zone', z.properties.id);
    app.syncUrl();
    clear(taskBox);
    taskBox.append(el('p', { class: 'muted' }, d.loading));
    try {
      const r = await allProblems({ zone: z.properties.id, status: 'open' }, { auth: true, max: 5000 });
      tasks = r.features.sort(byDeadline);
      problems.setFilter({ zone: z.properties.id, status: 'open' });
      renderTasks();
    } catch (e) {
      clear(taskBox);
      taskBox.append(el('p', { class: 'error' }, e instanceof ApiError && e.status === 401 ? d.needToken : String(e instanceof Error ? e.message : e)));
    }
  }

  async function loadZones(): Promise<void> {
    msg.textContent = d.loading;
    try {
      zoneList = await fetchZones(CHIEF_ZONE_KINDS, true);
      if (await has('/api/v1/me')) {
        const me = await request<{ id?: string; zones?: string[] }>('/api/v1/me', { auth: true });
        mine = new Set(me.zones ?? zoneList.filter((z) => me.id && z.properties.assignees?.includes(me.id)).map((z) => z.properties.id));
        msg.textContent = '';
      } else {
        msg.textContent = d.chiefNeedsMe;
      }
    } catch (e) {
      msg.textContent = e instanceof ApiError && e.status === 401 ? d.needToken : String(e instanceof Error ? e.message : e);
      return;
    }
    zoneList.sort((a, b) => Number(mine.has(b.properties.id)) - Number(mine.has(a.properties.id)) || a.properties.name.localeCompare(b.properties.name, 'zh'));
    clear(zoneSel);
    zoneSel.append(
      el('option', { value: '' }, '—'),
      ...zoneList.map((z) => el('option', { value: z.properties.id }, `${mine.has(z.properties.id) ? '★ ' : ''}${z.properties.name}`)),
    );
    const want = p.get('zone') ?? [...mine][0] ?? '';
    if (zoneList.some((z) => z.properties.id === want)) {
      zoneSel.value = want;
      await loadTasks();
    }
  }

  zoneSel.addEventListener('change', () => void loadTasks());

  /** Forgets what the last account saw. */
  const signedOut = () => {
    box?.stop();
    box = null;
    clear(inboxSlot);
    problems.setFilter(null);
    tasks = [];
    mine = new Set();
    clear(taskBox);
    clear(zoneSel);
    detailBox.hidden = true;
    msg.textContent = d.needToken;
  };

  // Sign-in: a session (name and password) or an API token.
  const account = accountBox(
    (who) => {
      // Grid workers sign in here too; the inbox is for staff.
      if (who?.role !== 'reporter') startInbox();
      void loadZones();
    },
    signedOut,
  );

  clear(panel);
  panel.append(
    el('h2', { class: 'panel-title' }, d.navChief),
    el('p', { class: 'muted' }, d.chiefIntro),
    account.root,
    inboxSlot,
    el('div', { class: 'field' }, el('label', { for: zoneId, class: 'label' }, d.myZones), zoneSel),
    msg,
    taskBox,
    detailBox,
  );
  problems.setFilter(null);
  void account.ready.then((signedIn) => {
    if (!signedIn) msg.textContent = d.needToken;
  });

  return {
    unmount() {
      box?.stop();
      problems.onSelect = null;
      problems.select(null);
      problems.auth = false;
      // Give the shared zone layer its three-surroundings zones back.
      map.getSource<GeoJSONSource>('zones')?.setData({ type: 'FeatureCollection', features: app.zones.zones });
    },
  };
}
