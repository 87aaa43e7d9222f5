// The street-office console: sign in; the inbox (escalations, fixes to verify; live); every
// problem of the street with filters and a table; a problem's detail, history with evidence
// photos and lifecycle steps (dispatch, escalate, rectify, reject, verify, recur); the weekly
// assessment report (综合评价) with CSV and a printable page, and the surroundings ranking.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { allProblems, getProblem } from '../api';
import type { ProblemFeature } from '../api';
import type { ViewProps } from '../app';
import { AssessmentPanel } from '../components/AssessmentPanel';
import { ErrorText } from '../components/ErrorText';
import { FilterControls } from '../components/FilterControls';
import { InboxPanel } from '../components/InboxPanel';
import { ProblemDetail } from '../components/ProblemDetail';
import { ProblemTable, SORT_KEYS, sortProblems } from '../components/ProblemTable';
import type { SortKey } from '../components/ProblemTable';
import { RankingPanel } from '../components/RankingPanel';
import { ReadinessPanel } from '../components/ReadinessPanel';
import { SignIn } from '../components/SignIn';
import { StatusLine } from '../components/StatusLine';
import { toApiFilter } from '../filters';
import { t } from '../i18n';
import { useLoad, useProblemLayer, useUrlFilters } from '../hooks';
import { isStaff, session } from '../session';

/** Rows drawn at once; "load more" adds as many again. */
const PAGE = 100;
/** Most problems the table holds (the whole street, without a bbox). */
const MAX_ROWS = 10_000;

export function OfficeView({ app }: ViewProps) {
  const d = t();
  const { map, cats, problems } = app;
  const p = app.hash.params;
  const me = session.value;
  const [filters, setFilters] = useUrlFilters(app);
  const [sort, setSort] = useState<SortKey>(() => (SORT_KEYS.includes(p.get('sort') as SortKey) ? (p.get('sort') as SortKey) : 'reported'));
  const [shown, setShown] = useState(PAGE);
  const [open, setOpen] = useState<ProblemFeature | null>(null);
  const [changed, setChanged] = useState<Record<string, ProblemFeature>>({});
  const [tick, setTick] = useState(0);

  // The whole street, without a bbox: the table is the ledger, not the map view. Before anyone
  // signs in it lists what the public may see. (Waits until the server said who is signed in.)
  const [table] = useLoad(
    async (signal) => (me === undefined ? null : (await allProblems(toApiFilter(filters), { auth: !!me, signal, max: MAX_ROWS })).features),
    [filters, me?.name, tick],
  );
  const rows = useMemo(() => sortProblems((table.value ?? []).map((f) => changed[f.properties.id] ?? f), sort), [table.value, changed, sort]);

  useProblemLayer(app, true, (f) => setOpen(f));
  useEffect(() => setShown(PAGE), [filters]);

  // Signing in or out changes what the map may show.
  useEffect(() => {
    if (me !== undefined) void problems.reload(true);
    if (!me) setOpen(null);
  }, [me?.name]);

  // A problem named in the URL (`sel=`) opens once the table has it.
  const [wanted] = useState(() => p.get('sel'));
  useEffect(() => {
    const f = wanted && !open ? rows.find((x) => x.properties.id === wanted) : undefined;
    if (f) setOpen(f);
  }, [table.value]);

  useEffect(() => {
    problems.select(open);
    if (open) p.set('sel', open.properties.id);
    else if (!wanted || table.value) p.delete('sel');
    app.syncUrl();
  }, [open]);

  const openRow = (f: ProblemFeature) => {
    const [lon, lat] = f.geometry.coordinates as [number, number];
    map.easeTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 17) });
    setOpen(f);
  };
  const onChanged = (g: ProblemFeature) => {
    problems.upsert(g);
    setOpen(g);
    setChanged((c) => ({ ...c, [g.properties.id]: g }));
  };
  const refresh = () => {
    void problems.reload(true);
    setChanged({});
    setTick((n) => n + 1);
  };
  const count = table.loading ? d.loading : d.matched(rows.length);

  return (
    <>
      <h2 class="panel-title">{d.nav.office}</h2>
      <SignIn />
      {isStaff(me) && <InboxPanel reloadKey={tick + Object.keys(changed).length} onOpen={(id) => void getProblem(id, true).then(setOpen)} />}
      {open ? (
        <div class="detail-box">
          <ProblemDetail problem={open} cats={cats} moderate onChanged={onChanged} onClose={() => setOpen(null)} />
        </div>
      ) : (
        <div class="list-box">
          <FilterControls cats={cats} value={filters} onChange={setFilters} />
          <StatusLine layer={problems} />
          <div class="table-head">
            <h3>{d.problems}</h3>
            {table.error ? (
              <p class="muted count error">
                {d.loadFailed}: <ErrorText error={table.error} inline />
              </p>
            ) : (
              <p class="muted count">{count}</p>
            )}
            <button type="button" class="btn secondary small" onClick={refresh}>
              {d.refresh}
            </button>
          </div>
          <ProblemTable
            rows={rows}
            cats={cats}
            shown={shown}
            sort={sort}
            onSort={(k) => {
              setSort(k);
              if (k === 'reported') p.delete('sort');
              else p.set('sort', k);
              app.syncUrl();
            }}
            onOpen={openRow}
            onMore={() => setShown((n) => n + PAGE)}
          />
          {isStaff(me) && (
            <div class="assess-slot">
              <AssessmentPanel />
              <RankingPanel app={app} initialKind="school" />
              {(me.role === 'street_office' || me.role === 'admin') && <ReadinessPanel />}
            </div>
          )}
        </div>
      )}
    </>
  );
}
