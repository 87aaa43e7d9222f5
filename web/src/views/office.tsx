// The street-office console: sign in; the inbox (escalations, fixes to verify; live); the problem
// table of the street (case number, place, zone, chief, deadline, overdue; sorted and filtered by
// the server, exported as CSV with the same rows and columns); a problem's detail, history with evidence
// photos and lifecycle steps (dispatch, escalate, rectify, reject, verify, recur); the weekly
// assessment report (综合评价) with CSV and a printable page, the surroundings ranking, and the
// week's patrols (巡查) with the zones nobody visited, on the map and in a table.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { getProblem, problemTable, problemTableCsv } from '../api';
import type { ProblemFeature, TableParams, TableRow } from '../api';
import type { ViewProps } from '../app';
import { AssessmentPanel } from '../components/AssessmentPanel';
import { ErrorText } from '../components/ErrorText';
import { FilterControls } from '../components/FilterControls';
import { InboxPanel } from '../components/InboxPanel';
import { ProblemDetail } from '../components/ProblemDetail';
import { ProblemTable, SORT_KEYS } from '../components/ProblemTable';
import type { Order, SortKey } from '../components/ProblemTable';
import { RankingPanel } from '../components/RankingPanel';
import { ReadinessPanel } from '../components/ReadinessPanel';
import { PatrolCoveragePanel } from '../components/PatrolCoveragePanel';
import { SignIn } from '../components/SignIn';
import { StatusLine } from '../components/StatusLine';
import { toApiFilter } from '../filters';
import { t } from '../i18n';
import { useId, useLoad, useProblemLayer, useUrlFilters } from '../hooks';
import { isStaff, session } from '../session';
import { saveFile } from '../download';

/** Rows drawn at once; "load more" adds as many again. */
const PAGE = 100;

/** The table's own filters (besides category, status and period): zone, chief, overdue, text. */
interface TableFilters {
  zone: string;
  chief: string;
  overdue: boolean;
  q: string;
}



export function OfficeView({ app }: ViewProps) {
  const d = t();
  const w = d.table;
  const { map, cats, problems } = app;
  const p = app.hash.params;
  const me = session.value;
  const [filters, setFilters] = useUrlFilters(app);
  const [sort, setSort] = useState<SortKey>(() => (SORT_KEYS.includes(p.get('sort') as SortKey) ? (p.get('sort') as SortKey) : 'reported'));
  const [order, setOrder] = useState<Order>(() => (p.get('order') === 'desc' ? 'desc' : 'asc'));
  const [own, setOwn] = useState<TableFilters>(() => ({ zone: p.get('zone') ?? '', chief: p.get('chief') ?? '', overdue: p.get('overdue') === '1', q: p.get('q') ?? '' }));
  const [typed, setTyped] = useState(own.q);
  const [shown, setShown] = useState(PAGE);
  const [open, setOpen] = useState<ProblemFeature | null>(null);
  const [tick, setTick] = useState(0);
  const [csvError, setCsvError] = useState<unknown>(null);
  const ids = { zone: useId('zone'), chief: useId('chief'), q: useId('q') };

  // The table's request: the shared filters, the table's own, the sort. The CSV asks the same.
  const params: TableParams = useMemo(() => {
    const api = toApiFilter(filters);
    return {
      category: api.category,
      status: api.status,
      from: api.from,
      zone: own.zone || undefined,
      assignee: own.chief || undefined,
      overdue: own.overdue ? 'true' : undefined,
      q: own.q.trim() || undefined,
      sort,
      order,
    };
  }, [filters, own, sort, order]);

  // The whole street's table from the server, sorted and filtered there (staff only).
  const [table] = useLoad(async (signal) => (isStaff(me) ? await problemTable(params, signal) : null), [params, me?.name, tick]);
  const rows = table.value?.rows ?? [];

  // Zones and chiefs to filter by: every one seen in any answer (a filtered answer keeps them).
  const [seen, setSeen] = useState<{ zones: Map<string, string>; chiefs: Map<string, string> }>({ zones: new Map(), chiefs: new Map() });
  useEffect(() => {
    if (!table.value) return;
    setSeen((s) => {
      const zones = new Map(s.zones);
      const chiefs = new Map(s.chiefs);
      for (const r of table.value!.rows) {
        if (r.zone && r.zone_name) zones.set(r.zone, r.zone_name);
        if (r.assignee && r.assignee_name) chiefs.set(r.assignee, r.assignee_name);
      }
      return { zones, chiefs };
    });
  }, [table.value]);
  const byName = (m: Map<string, string>) => [...m.entries()].sort((a, b) => a[1].localeCompare(b[1], 'zh-CN'));

  useProblemLayer(app, true, (f) => setOpen(f));
  useEffect(() => setShown(PAGE), [params]);

  // The table's own filters and the sort live in the URL too (a link shows the same table).
  useEffect(() => {
    const set = (k: string, v: string) => (v ? p.set(k, v) : p.delete(k));
    set('zone', own.zone);
    set('chief', own.chief);
    set('overdue', own.overdue ? '1' : '');
    set('q', own.q);
    set('sort', sort === 'reported' ? '' : sort);
    set('order', order === 'desc' ? 'desc' : '');
    app.syncUrl();
  }, [own, sort, order]);

  // Typing searches once the typing pauses.
  useEffect(() => {
    const timer = setTimeout(() => setOwn((o) => (o.q === typed ? o : { ...o, q: typed })), 300);
    return () => clearTimeout(timer);
  }, [typed]);

  // Signing in or out changes what the map may show.
  useEffect(() => {
    if (me !== undefined) void problems.reload(true);
    if (!me) setOpen(null);
  }, [me?.name]);

  // A problem named in the URL (`sel=`) opens once someone is signed in.
  const [wanted] = useState(() => p.get('sel'));
  useEffect(() => {
    if (wanted && !open && isStaff(me)) void getProblem(wanted, true).then(setOpen, () => undefined);
  }, [me?.name]);

  useEffect(() => {
    problems.select(open);
    if (open) p.set('sel', open.properties.id);
    else if (!wanted || table.value) p.delete('sel');
    app.syncUrl();
  }, [open]);

  const openRow = (r: TableRow) => {
    map.easeTo({ center: [r.lon, r.lat], zoom: Math.max(map.getZoom(), 17) });
    void getProblem(r.id, true).then(setOpen, setCsvError);
  };
  const onChanged = (g: ProblemFeature) => {
    problems.upsert(g);
    setOpen(g);
    setTick((n) => n + 1);
  };
  const refresh = () => {
    void problems.reload(true);
    setTick((n) => n + 1);
  };
  const onSort = (k: SortKey) => {
    if (k === sort) setOrder(order === 'asc' ? 'desc' : 'asc');
    else {
      setSort(k);
      setOrder('asc');
    }
  };
  const exportCsv = () => {
    setCsvError(null);
    problemTableCsv(params).then((b) => saveFile(b, 'civmap-problems.csv'), setCsvError);
  };
  const count = table.loading ? d.loading : w.shown(Math.min(rows.length, shown), table.value?.matched ?? rows.length);

  return (
    <>
      <h2 class="panel-title">{d.nav.office}</h2>
      <SignIn />
      {isStaff(me) && <InboxPanel reloadKey={tick} onOpen={(id) => void getProblem(id, true).then(setOpen)} />}
      {open ? (
        <div class="detail-box">
          <ProblemDetail problem={open} cats={cats} moderate onChanged={onChanged} onClose={() => setOpen(null)} />
        </div>
      ) : (
        <div class="list-box">
          <FilterControls cats={cats} value={filters} onChange={setFilters} />
          <StatusLine layer={problems} />
          {isStaff(me) && (
            <>
              <div class="field-row table-filters">
                <div class="field">
                  <label for={ids.zone} class="label">
                    {w.zone}
                  </label>
                  <select id={ids.zone} name="zone" value={own.zone} onChange={(e) => setOwn({ ...own, zone: e.currentTarget.value })}>
                    <option value="">{w.zoneAll}</option>
                    {byName(seen.zones).map(([id, name]) => (
                      <option key={id} value={id}>
                        {name}
                      </option>
                    ))}
                  </select>
                </div>
                <div class="field">
                  <label for={ids.chief} class="label">
                    {w.chief}
                  </label>
                  <select id={ids.chief} name="chief" value={own.chief} onChange={(e) => setOwn({ ...own, chief: e.currentTarget.value })}>
                    <option value="">{w.chiefAll}</option>
                    {byName(seen.chiefs).map(([id, name]) => (
                      <option key={id} value={id}>
                        {name}
                      </option>
                    ))}
                  </select>
                </div>
                <div class="field grow">
                  <label for={ids.q} class="label">
                    {w.search}
                  </label>
                  <input id={ids.q} type="search" name="q" value={typed} placeholder={w.searchPlaceholder} onInput={(e) => setTyped(e.currentTarget.value)} />
                </div>
                <label class="check">
                  <input type="checkbox" name="overdue" checked={own.overdue} onChange={(e) => setOwn({ ...own, overdue: e.currentTarget.checked })} />
                  {w.overdueOnly}
                </label>
              </div>
              <div class="table-head">
                <h3>{d.problems}</h3>
                {table.error ? (
                  <p class="muted count error">
                    {d.loadFailed}: <ErrorText error={table.error} inline />
                  </p>
                ) : (
                  <p class="muted count">{count}</p>
                )}
                <button type="button" class="btn secondary small" name="csv" onClick={exportCsv}>
                  {w.csv}
                </button>
                <button type="button" class="btn secondary small" onClick={refresh}>
                  {d.refresh}
                </button>
              </div>
              {csvError !== null && <ErrorText error={csvError} />}
              <ProblemTable rows={rows} cats={cats} shown={shown} sort={sort} order={order} onSort={onSort} onOpen={openRow} onMore={() => setShown((n) => n + PAGE)} />
            </>
          )}
          {isStaff(me) && (
            <div class="assess-slot">
              <AssessmentPanel />
              <RankingPanel app={app} initialKind="school" />
              {(me.role === 'street_office' || me.role === 'admin') && <PatrolCoveragePanel map={map} />}
              {(me.role === 'street_office' || me.role === 'admin') && <ReadinessPanel />}
            </div>
          )}
        </div>
      )}
    </>
  );
}
