// The chief console (点长, 路长, 片长), made for a phone: sign in with name and password, see the
// inbox (rework, look-backs due, escalations; live), pick my zone, see its open problems by
// deadline with overdue ones first — each row with its place, a line of its description, the
// time left (or overdue by) and how far it is from me — open one, fix it (a reported one on the
// spot, 当场整改) or escalate it. The server says who is signed in (`GET /api/v1/me`): the zones
// assigned to the chief come first, and the server shows the chief only the problems of its
// zones. A patrol (巡查) is walked from here: start, mark zones "已检查，无问题", end. Grid workers
// have their own page (上报).

import type { GeoJSONSource } from 'maplibre-gl';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { allProblems, getProblem, zones as fetchZones } from '../api';
import type { Action, ProblemFeature, ZoneFeature } from '../api';
import type { ViewProps } from '../app';
import { InboxPanel, timeLeft } from '../components/InboxPanel';
import { OutboxPanel } from '../components/OutboxPanel';
import { PatrolPanel } from '../components/PatrolPanel';
import { LoadError } from '../components/LoadError';
import { problemCategory } from '../colors';
import { Swatch } from '../components/Swatch';
import { ProblemDetail } from '../components/ProblemDetail';
import { zoneBounds } from '../map/bounds';
import { SignIn } from '../components/SignIn';
import { StatusBadge } from '../components/StatusBadge';
import { caseNo, excerpt, metresBetween, placeOf } from '../caseinfo';
import { formatTime, t } from '../i18n';
import { useId, useLoad, useProblemLayer } from '../hooks';
import { isStaff, session } from '../session';

const CHIEF_ZONE_KINDS = 'point,road,area';
/** The roles that walk patrols (巡查). */
const PATROL_ROLES = new Set(['area_chief', 'road_chief', 'point_chief']);
/** Most open problems of one zone listed. */
const MAX_TASKS = 5000;

/**
 * The zone map's least zoom: from here on problems are single points (not one cluster bubble),
 * above the clustering's last zoom (`POINTS_MIN_ZOOM` − 1), so a chief tells its tasks apart.
 */
const ZONE_MIN_ZOOM = 15;
/** Distances are rounded to this many metres: a phone's fix is not more precise. */
const DISTANCE_STEP_M = 10;
/** Geolocation for distances: a fix up to a minute old will do. */
const GEO_OPTIONS: PositionOptions = { enableHighAccuracy: true, timeout: 15_000, maximumAge: 60_000 };

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

/**
 * Where I am, for distances: watched when the browser already has the permission; otherwise only
 * when the chief asks (`ask`), and then a failure says so in words (never the browser's English).
 */
function useMyPosition(): { at: [number, number] | null; failed: boolean; ask: () => void } {
  const [at, setAt] = useState<[number, number] | null>(null);
  const [failed, setFailed] = useState(false);
  const [asked, setAsked] = useState(false);
  useEffect(() => {
    if (!('geolocation' in navigator)) return undefined;
    let watch: number | null = null;
    let gone = false;
    const start = () => {
      watch = navigator.geolocation.watchPosition(
        (p) => {
          setFailed(false);
          setAt([p.coords.longitude, p.coords.latitude]);
        },
        // Said only to a chief who asked; an unasked failure leaves the distances out.
        () => setFailed(asked),
        GEO_OPTIONS,
      );
    };
    if (asked) start();
    else
      void navigator.permissions
        ?.query({ name: 'geolocation' })
        .then((s) => {
          if (!gone && s.state === 'granted') start();
        })
        .catch(() => undefined);
    return () => {
      gone = true;
      if (watch !== null) navigator.geolocation.clearWatch(watch);
    };
  }, [asked]);
  return {
    at,
    failed,
    ask: () => {
      if (!('geolocation' in navigator)) setFailed(true);
      else setAsked(true);
    },
  };
}

function TaskList({ tasks, cats, onOpen }: { tasks: ProblemFeature[]; cats: ViewProps['app']['cats']; onOpen: (f: ProblemFeature) => void }) {
  const d = t();
  const me = useMyPosition();
  const now = Date.now();
  if (tasks.length === 0) return <p class="muted">{d.noProblems}</p>;
  return (
    <>
      <p class="muted task-head">
        {d.matched(tasks.length)}
        {!me.at && (
          <button type="button" class="link" name="show-distance" onClick={me.ask}>
            {d.grid.showDistance}
          </button>
        )}
        {me.failed && !me.at && <span class="note geo-failed">{d.grid.noPosition}</span>}
      </p>
      <ul class="task-list">
        {tasks.map((f) => {
          const p = f.properties;
          const no = caseNo(f);
          const text = excerpt(p.description);
          const metres = me.at ? Math.round(metresBetween(me.at, f.geometry.coordinates as [number, number]) / DISTANCE_STEP_M) * DISTANCE_STEP_M : null;
          return (
            <li key={p.id}>
              <button type="button" class={`task${p.overdue ? ' late' : ''}`} data-problem={p.id} data-status={p.status} onClick={() => onOpen(f)}>
                <span class="task-line">
                  <Swatch category={p.category} />
                  <span class="task-name">{problemCategory(f, cats)}</span>
                  <StatusBadge status={p.status} />
                  {no && <span class="case-no muted">{no}</span>}
                </span>
                <span class="task-place">{placeOf(f)}</span>
                {text && <span class="task-excerpt">{text}</span>}
                <span class="task-line task-when">
                  {p.deadline ? (
                    <span class={`time-left${p.overdue ? ' late' : ''}`} title={`${d.deadline} ${formatTime(p.deadline)}`}>
                      {timeLeft(p.deadline, now)}
                    </span>
                  ) : (
                    <span class="muted">{`${d.col.reported} ${formatTime(p.reported_at)}`}</span>
                  )}
                  {metres !== null && <span class="task-distance">{d.grid.distance(metres)}</span>}
                </span>
              </button>
            </li>
          );
        })}
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
  const [zoneList] = useLoad(async () => (isStaff(me) ? fetchZones(CHIEF_ZONE_KINDS, true) : []), [me?.name]);
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
      // The whole zone when that is close enough to tell points apart; else its middle at
      // ZONE_MIN_ZOOM (a large area is panned, not shown as one cluster bubble).
      const cam = b ? map.cameraForBounds(b, { padding: 40, maxZoom: 18 }) : undefined;
      if (cam) map.jumpTo({ ...cam, zoom: Math.max(cam.zoom ?? ZONE_MIN_ZOOM, ZONE_MIN_ZOOM) });
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
      <OutboxPanel />
      {isStaff(me) && <InboxPanel reloadKey={inboxKey} onOpen={(id) => void getProblem(id, true).then(setOpen)} />}
      {me === null && <p class="muted">{d.needSignIn}</p>}
      {/* A grid worker signed in here has no zones: its reports are on the report page. */}
      {me && !isStaff(me) && (
        <p class="note">
          {d.grid.notForGridWorkers}{' '}
          <a href="#/report" class="link">
            {d.grid.toReport}
          </a>
        </p>
      )}
      {isStaff(me) && (
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
          {PATROL_ROLES.has(me.role) && <PatrolPanel user={me.name} zone={chosen} />}
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
