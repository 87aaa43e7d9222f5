// The set-up console of a street (street office, limited to its street, and admin): every zone
// on the map coloured by kind with a legend; a click shows a zone's name, kind and chiefs;
// drawing and editing zones (area polygons, road stretches, points with a radius), adding a
// school, park or wet market with its surroundings zone, deleting; assigning and unassigning
// chiefs by name; and the coverage check (uncovered grid cells, overlaps), on the map and in
// one sentence, redone after every change.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { assignments as fetchAssignments, chiefs as fetchChiefs, coverage as fetchCoverage, zones as fetchZones } from '../api';
import type { ViewProps } from '../app';
import { CoverageSummary } from '../components/CoverageSummary';
import { ErrorText } from '../components/ErrorText';
import { SignIn } from '../components/SignIn';
import { ZoneCard } from '../components/ZoneCard';
import { ZoneEditor } from '../components/ZoneEditor';
import { useLoad } from '../hooks';
import { t } from '../i18n';
import { SetupLayer } from '../map/setuplayer';
import { ZoneLegend } from '../map/zonelegend';
import { session } from '../session';

/** Roles that set up a street (the server's `MANAGERS`). */
const MANAGER_ROLES = ['admin', 'street_office'];

export function SetupView({ app }: ViewProps) {
  const d = t();
  const { map } = app;
  const me = session.value;
  const manager = !!me && MANAGER_ROLES.includes(me.role);
  const layer = useMemo(() => new SetupLayer(map), [map]);
  const [tick, setTick] = useState(0);
  const [selected, setSelected] = useState<string | null>(null);
  const [mode, setMode] = useState<'view' | 'new' | 'edit'>('view');
  const [message, setMessage] = useState('');

  const [zones] = useLoad(async () => (manager ? fetchZones('', true) : null), [manager, tick]);
  const [chiefs] = useLoad(async () => (manager ? fetchChiefs() : null), [manager, tick]);
  const [assigned] = useLoad(async () => (manager ? fetchAssignments() : null), [manager, tick]);
  const [coverage] = useLoad(async () => (manager ? fetchCoverage() : null), [manager, tick]);

  // The view owns the map while it is shown: no problems, no three-surroundings overlay.
  useEffect(() => {
    app.problems.setFilter(null);
    app.zones.setVisible(false);
    layer.install();
    const legend = new ZoneLegend();
    map.addControl(legend, 'top-left');
    return () => {
      layer.uninstall();
      map.removeControl(legend);
      app.zones.setVisible(true);
    };
  }, []);

  useEffect(() => layer.setZones(zones.value ?? []), [zones.value]);
  useEffect(() => layer.setCoverage(coverage.value ?? null), [coverage.value]);
  useEffect(() => {
    layer.onPick = mode === 'view' ? (z) => setSelected(z?.properties.id ?? null) : null;
  }, [mode]);

  const zone = (zones.value ?? []).find((z) => z.properties.id === selected) ?? null;
  useEffect(() => layer.select(zone), [zone]);

  const names = useMemo(() => {
    const m = new Map<string, string>();
    for (const a of assigned.value ?? []) m.set(a.user, `${a.display_name || a.name}（${a.name}）`);
    return m;
  }, [assigned.value]);

  const refresh = (msg: string) => {
    setMessage(msg);
    setTick((n) => n + 1);
  };

  if (!manager) {
    return (
      <>
        <h2 class="panel-title">{d.setup.title}</h2>
        <SignIn />
        {me && <p class="error">{d.setup.needManager}</p>}
      </>
    );
  }
  const loadError = zones.error ?? chiefs.error;
  return (
    <>
      <h2 class="panel-title">{d.setup.title}</h2>
      <SignIn />
      <p class="note">{d.setup.intro}</p>
      <p class="codes-row">
        {/* The printable cards to post at each point and road zone: scanned, they open the report page there. */}
        <a class="btn secondary small" href="/api/v1/point-codes" target="_blank" rel="noopener" data-action="point-codes">
          {d.setup.pointCodes}
        </a>
        <span class="muted">{d.setup.pointCodesHint}</span>
      </p>
      <CoverageSummary state={coverage} />
      {message && (
        <p class="success setup-message" role="status">
          {message}
        </p>
      )}
      {loadError ? <ErrorText error={loadError} for="setup" /> : null}
      {mode === 'new' && (
        <ZoneEditor
          layer={layer}
          editing={null}
          onSaved={(msg, id) => {
            setMode('view');
            setSelected(id);
            refresh(msg);
          }}
          onCancel={() => setMode('view')}
        />
      )}
      {mode === 'edit' && zone && (
        <ZoneEditor
          layer={layer}
          editing={zone}
          onSaved={(msg) => {
            setMode('view');
            refresh(msg);
          }}
          onCancel={() => setMode('view')}
        />
      )}
      {mode === 'view' && (
        <>
          <div class="action-row">
            <button
              type="button"
              name="new-zone"
              class="btn primary small"
              onClick={() => {
                setMessage('');
                setSelected(null);
                setMode('new');
              }}
            >
              {d.setup.newZone}
            </button>
            <span class="muted">{zones.value ? d.setup.zones(zones.value.length) : d.loading}</span>
          </div>
          {zone ? (
            <ZoneCard
              key={zone.properties.id}
              zone={zone}
              chiefs={chiefs.value ?? []}
              names={names}
              onChanged={refresh}
              onEdit={() => {
                setMessage('');
                setMode('edit');
              }}
              onDeleted={(msg) => {
                setSelected(null);
                refresh(msg);
              }}
              onClose={() => setSelected(null)}
            />
          ) : (
            <p class="muted">{d.setup.selectHint}</p>
          )}
        </>
      )}
    </>
  );
}
