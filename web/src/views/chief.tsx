// The chief console (点长, 路长, 片长): sign in with name and password, see the inbox (rework,
// look-backs due, escalations; live), pick my zone, see its open problems by deadline with
// overdue ones first, open one, rectify it (or escalate it). The server says who is signed in
// (`GET /api/v1/me`): the zones assigned to the chief come first, and the server shows the chief
// only the problems of its zones.

import type { GeoJSONSource } from 'maplibre-gl';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { allProblems, getProblem, zones as fetchZones } from '../api';
import type { Action, ProblemFeature, ZoneFeature } from '../api';
import type { ViewProps } from '../app';
import { InboxPanel } from '../components/InboxPanel';
import { LoadError } from '../components/LoadError';
import { problemCategory } from '../colors';
import { Swatch } from '../components/Swatch';
import { ProblemDetail } from '../components/ProblemDetail';
import { zoneBounds } from '../map/bounds';
import { SignIn } from '../components/SignIn';
import { StatusBadge } from '../components/StatusBadge';
import { formatTime, t } from '../i18n';
import { useId, useLoad, useProblemLayer } from '../hooks';
import { isStaff, session } from '../session';

const CHIEF_ZONE_KINDS = 'point,road,area';
/** Most open problems of one zone listed. */
const MAX_TASKS = 5000;

/** What a chief does here; verifying and rejecting belong to the street office and area-chiefs. */
const CHIEF_ACTIONS: Action[] = ['rectify', 'escalate', 'recur'];

/**
 * The chief's order: work still to do before work awaiting verification (rectified), then overdue
 * first, then by deadline (none last).
 */
export function byDeadline(a: ProblemFeature, b: ProblemFeature): number {
  const waiting = (f: ProblemFeature) => Number(f.properties.status === 'rectified');
  const dl = (f: ProblemFeature) => (f.properties.deadline ? Date.parse(f.properties.deadline) : Number.MAX_SAFE_INTEGER);
  return waiting(a) - waiting(b) || Number(b.properties.overdue) - Number(a.properties.overdue) || dl(a) - dl(b);
}

function TaskList({ tasks, cats, onOpen }: { tasks: ProblemFeature[]; cats: ViewProps['app']['cats']; onOpen: (f: ProblemFeature) => void }) {
  const d = t();
  if (tasks.length === 0) return <p class="muted">{d.noProblems}</p>;
  return (
    <>
      <p class="muted">{d.matched(tasks.length)}</p>
      <ul class="task-list">
        {tasks.map((f) => (
          <li key={f.properties.id}>
            <button type="button" class={`task${f.properties.overdue ? ' late' : ''}`} data-problem={f.properties.id} data-status={f.properties.status} onClick={() => onOpen(f)}>
              <Swatch category={f.properties.category} />
              <span class="task-name">{problemCategory(f, cats)}</span>
              <StatusBadge status={f.properties.status} />
              <span class="task-deadline">{f.properties.deadline ? `${d.deadline} ${formatTime(f.properties.deadline)}` : ''}</span>
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

export function ChiefView({ app }: ViewProps) {
  const d = t();
  const { map, cats, problems } = app;
  const p = app.hash.params;
  const me = session.value;
  const zoneId = useId('zone');
  const [zone, setZone] = useState<string>(p.get('zone') ?? '');
  const [open, setOpen] = useState<ProblemFeature | null>(null);
  const [changed, setChanged] = useState<Record<string, ProblemFeature>>({});
  const [inboxKey, setInboxKey] = useState(0);

  // The zones a chief can pick, mine first (★).
  const [zoneList] = useLoad(async () => (me ? fetchZones(CHIEF_ZONE_KINDS, true) : []), [me?.name]);
  const mine = useMemo(() => new Set(me?.zones ?? []), [me]);
  const sorted = useMemo(
    () => [...(zoneList.value ?? [])].sort((a, b) => Number(mine.has(b.properties.id)) - Number(mine.has(a.properties.id)) || a.properties.name.localeCompare(b.properties.name, 'zh')),
    [zoneList.value, mine],
  );
  const chosen: ZoneFeature | undefined = sorted.find((z) => z.properties.id === zone);
  // Without a zone in the URL, the first of mine.
  useEffect(() => {
    if (!zone && sorted.length && mine.size) setZone(sorted.find((z) => mine.has(z.properties.id))?.properties.id ?? '');
  }, [sorted]);

  const [loaded] = useLoad(async () => (me && chosen ? (await allProblems({ zone: chosen.properties.id, status: 'open' }, { auth: true, max: MAX_TASKS })).features : null), [
    chosen?.properties.id,
    me?.name,
  ]);
  const tasks = useMemo(() => (loaded.value ?? []).map((f) => changed[f.properties.id] ?? f).sort(byDeadline), [loaded.value, changed]);

  useProblemLayer(app, true, (f) => setOpen(f));
  // Leaving, give the shared zone layer its three-surroundings zones back.
  useEffect(() => () => map.getSource<GeoJSONSource>('zones')?.setData({ type: 'FeatureCollection', features: app.zones.zones }), []);

  // The chosen zone on the map, and only its open problems (none before a zone is chosen).
  useEffect(() => {
    map.getSource<GeoJSONSource>('zones')?.setData({ type: 'FeatureCollection', features: chosen && me ? [chosen] : [] });
    app.zones.setVisible(true);
    if (chosen && me) {
      p.set('zone', chosen.properties.id);
      const b = zoneBounds(chosen);
      if (b) map.fitBounds(b, { padding: 40, maxZoom: 18 });
      problems.setFilter({ zone: chosen.properties.id, status: 'open' });
    } else {
      p.delete('zone');
      problems.setFilter(null);
    }
    app.syncUrl();
  }, [chosen?.properties.id, me?.name]);

  useEffect(() => problems.select(open), [open]);
  // Signing out forgets what the last account saw.
  useEffect(() => {
    if (!me) {
      setOpen(null);
      setChanged({});
    }
  }, [me]);

  const onChanged = (g: ProblemFeature) => {
    problems.upsert(g);
    setOpen(g);
    setChanged((c) => ({ ...c, [g.properties.id]: g }));
    setInboxKey((k) => k + 1);
  };

  return (
    <>
      <h2 class="panel-title">{d.nav.chief}</h2>
      <p class="muted">{d.chiefIntro}</p>
      <SignIn />
      {/* Grid workers sign in here too; the inbox is for staff. */}
      {isStaff(me) && <InboxPanel reloadKey={inboxKey} onOpen={(id) => void getProblem(id, true).then(setOpen)} />}
      {me === null && <p class="muted">{d.needSignIn}</p>}
      {me && (
        <>
          <div class="field">
            <label for={zoneId} class="label">
              {d.myZones}
            </label>
            <select id={zoneId} name="zone" value={zone} onChange={(e) => setZone(e.currentTarget.value)}>
              <option value="">—</option>
              {sorted.map((z) => (
                <option key={z.properties.id} value={z.properties.id}>
                  {`${mine.has(z.properties.id) ? '★ ' : ''}${z.properties.name}`}
                </option>
              ))}
            </select>
          </div>
          {zoneList.error ? <LoadError error={zoneList.error} /> : zoneList.loading && <p class="muted">{d.loading}</p>}
          {open ? (
            <div class="detail-box">
              <ProblemDetail problem={open} cats={cats} allowed={CHIEF_ACTIONS} onChanged={onChanged} onClose={() => setOpen(null)} />
            </div>
          ) : (
            chosen && (
              <div class="list-box">
                {loaded.error ? <LoadError error={loaded.error} /> : loaded.loading ? <p class="muted">{d.loading}</p> : <TaskList tasks={tasks} cats={cats} onOpen={setOpen} />}
              </div>
            )
          )}
        </>
      )}
    </>
  );
}
