// A zone picked on the set-up map: its name, kind and code, the chiefs assigned to it (each with
// "unassign"), a list of the street's chiefs BY NAME to assign one, its rectification ledger
// (整改台账) for a period to download, and editing or deleting it.

import { useState } from 'preact/hooks';
import { assignChief, deleteZone, unassignChief, zoneLedger } from '../api';
import { saveFile } from '../download';
import type { Chief, ZoneFeature } from '../api';
import { useId } from '../hooks';
import { CST_OFFSET_MS, cstDay, pick as lookup, roleName, t } from '../i18n';
import { ErrorText } from './ErrorText';
import { Field } from './Field';

/** The ledger periods offered: the last three years (the default a clerk files), this year and
 * the last two calendar years in China Standard Time, or everything. Dates are whole days there. */
function ledgerPeriods(): { key: string; label: string; params: Record<string, string> }[] {
  const d = t().setup;
  const now = Date.now();
  const today = cstDay(now);
  const year = Number(today.slice(0, 4));
  // Three years back by the calendar; from 29 February, 1 March (Date.UTC rolls it over).
  const [, month, day] = today.split('-').map(Number) as [number, number, number];
  const threeYearsAgo = cstDay(Date.UTC(year - 3, month - 1, day) - CST_OFFSET_MS);
  const years = [year, year - 1, year - 2].map((y) => ({
    key: String(y),
    label: d.ledgerYear(y),
    params: { from: `${y}-01-01`, to: `${y}-12-31` },
  }));
  return [
    { key: 'recent', label: d.ledgerRecent, params: { from: threeYearsAgo, to: today } },
    ...years,
    { key: 'all', label: d.ledgerAll, params: {} },
  ];
}

/** A chief as a person reads it: the shown name, the role, the login name. */
export function chiefLabel(c: Pick<Chief, 'name' | 'display_name' | 'role'>): string {
  const shown = c.display_name || c.name;
  return `${shown}（${roleName(c.role)}，${c.name}）`;
}

export function ZoneCard(props: {
  zone: ZoneFeature;
  chiefs: Chief[];
  /** Names of assigned accounts the chiefs list lacks (another street's), by id. */
  names: Map<string, string>;
  onChanged: (message: string) => void;
  onEdit: () => void;
  onDeleted: (message: string) => void;
  onClose: () => void;
}) {
  const d = t();
  const { zone } = props;
  const p = zone.properties as ZoneFeature['properties'] & { assignees?: string[] };
  const assigned = p.assignees ?? [];
  const pickId = useId('chief');
  const [pick, setPick] = useState('');
  const [error, setError] = useState<unknown>(null);
  /** Which form the error is about: `assign` (a chief) or `zone` (deleting). */
  const [context, setContext] = useState('zone');
  const [busy, setBusy] = useState(false);
  const who = (id: string) => {
    const c = props.chiefs.find((x) => x.id === id);
    return c ? chiefLabel(c) : (props.names.get(id) ?? d.setup.unknownChief);
  };
  const run = async (f: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    setContext('assign');
    try {
      props.onChanged(await f());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const assign = () =>
    run(async () => {
      if (!pick) throw d.setup.pickChief;
      await assignChief(p.id, pick);
      setPick('');
      return d.setup.assigned(who(pick));
    });
  const unassign = (user: string) =>
    run(async () => {
      await unassignChief(p.id, user);
      return d.setup.unassigned(who(user));
    });
  const remove = async () => {
    if (!window.confirm(d.setup.confirmRemove(p.name))) return;
    setBusy(true);
    setError(null);
    setContext('zone');
    try {
      await deleteZone(p.id);
      props.onDeleted(d.setup.deleted(p.name));
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const periods = ledgerPeriods();
  const [ledgerKey, setLedgerKey] = useState('recent');
  const ledgerId = useId('ledger');
  const download = async () => {
    const period = periods.find((x) => x.key === ledgerKey) ?? periods[0]!;
    setBusy(true);
    setError(null);
    setContext('ledger');
    try {
      saveFile(await zoneLedger(p.id, period.params), d.setup.ledgerFile(p.name, period.label.replace(/\s+/g, '')));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const free = props.chiefs.filter((c) => !assigned.includes(c.id));
  return (
    <div class="zone-card" data-zone={p.id}>
      <div class="card-head">
        <h3 class="card-title zone-name">{p.name}</h3>
        <button type="button" class="btn secondary small" onClick={props.onClose}>
          {d.setup.close}
        </button>
      </div>
      <dl class="zone-kv">
        <dt>{d.setup.zoneKind}</dt>
        <dd class="zone-kind">
          {lookup(d.setup.kinds, p.kind)}
          {p.poi_kind ? `（${lookup(d.poi, p.poi_kind)}）` : ''}
        </dd>
        {p.code && (
          <>
            <dt>{d.setup.code}</dt>
            <dd>{p.code}</dd>
          </>
        )}
        <dt>{d.setup.chiefs}</dt>
        <dd>
          {assigned.length === 0 ? (
            <span class="muted">{d.setup.noChiefs}</span>
          ) : (
            <ul class="chief-list">
              {assigned.map((u) => (
                <li key={u} data-user={u}>
                  <span class="chief-name">{who(u)}</span>
                  <button type="button" class="link" disabled={busy} onClick={() => void unassign(u)}>
                    {d.setup.unassign}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
      {props.chiefs.length === 0 ? (
        <p class="muted">{d.setup.noChiefList}</p>
      ) : (
        <div class="assign-row">
          <Field name="chief" label={d.setup.pickChief} for={pickId}>
            <select id={pickId} name="chief" value={pick} onChange={(e) => setPick(e.currentTarget.value)}>
              <option value="">—</option>
              {free.map((c) => (
                <option key={c.id} value={c.id}>
                  {chiefLabel(c)}
                </option>
              ))}
            </select>
          </Field>
          <button type="button" name="assign" class="btn primary small" disabled={busy || !pick} onClick={() => void assign()}>
            {d.setup.assign}
          </button>
        </div>
      )}
      <div class="assign-row ledger-row">
        <Field name="ledger-period" label={d.setup.ledgerPeriod} for={ledgerId}>
          <select id={ledgerId} name="ledger-period" value={ledgerKey} onChange={(e) => setLedgerKey(e.currentTarget.value)}>
            {periods.map((x) => (
              <option key={x.key} value={x.key}>
                {x.label}
              </option>
            ))}
          </select>
        </Field>
        <button type="button" name="ledger" class="btn secondary small" disabled={busy} onClick={() => void download()}>
          {d.setup.ledgerDownload}
        </button>
      </div>
      <div class="action-row">
        <button type="button" name="edit-zone" class="btn secondary small" disabled={busy} onClick={props.onEdit}>
          {d.setup.edit}
        </button>
        <button type="button" name="delete-zone" class="btn secondary small danger" disabled={busy} onClick={() => void remove()}>
          {d.setup.remove}
        </button>
      </div>
      <ErrorText error={error} for="zone" context={context} />
    </div>
  );
}
