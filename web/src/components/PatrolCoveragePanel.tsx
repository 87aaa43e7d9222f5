// The street office's patrols (巡查) of a week: patrols made, per point and road zone the metres
// walked inside it beside its road length, the zones checked clean and the last visit, and the
// zones nobody visited for `workflow.unvisited_days` — listed first and drawn red on the map.

import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Map as MlMap } from 'maplibre-gl';
import { zones as fetchZones } from '../api';
import { patrolCoverage, patrols as fetchPatrols } from '../api/patrols';
import { formatTime, t } from '../i18n';
import { useId, useLoad } from '../hooks';
import { PatrolLayer } from '../map/patrollayer';
import { LoadError } from './LoadError';

/** Today in China Standard Time, `YYYY-MM-DD` (a day of the week shown). */
function todayCst(): string {
  return new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
}

export function PatrolCoveragePanel({ map }: { map: MlMap }) {
  const d = t().patrols;
  const weekId = useId('patrol-week');
  const [week, setWeek] = useState(todayCst());
  const layer = useMemo(() => new PatrolLayer(map), [map]);
  const [data] = useLoad(async () => {
    const [coverage, zones, list] = await Promise.all([patrolCoverage(week), fetchZones('point,road', true), fetchPatrols(week)]);
    return { coverage, zones, list };
  }, [week]);

  useEffect(() => {
    const install = () => layer.install();
    if (map.isStyleLoaded()) install();
    else map.once('load', install);
    return () => layer.uninstall();
  }, [layer]);
  useEffect(() => {
    if (data.value && map.getSource('patrol-zones')) layer.show(data.value.coverage, data.value.zones, data.value.list);
  }, [data.value]);

  const c = data.value?.coverage;
  const unvisited = c?.zones.filter((z) => z.unvisited) ?? [];
  return (
    <section class="patrol-coverage" aria-labelledby={`${weekId}-title`}>
      <h3 id={`${weekId}-title`}>{d.title}</h3>
      <div class="field-row">
        <label for={weekId} class="label">
          {d.week}
        </label>
        <input id={weekId} type="date" name="patrol-week" value={week} onChange={(e) => setWeek(e.currentTarget.value || todayCst())} />
      </div>
      {data.error ? (
        <LoadError error={data.error} />
      ) : !c ? (
        <p class="muted">{t().loading}</p>
      ) : (
        <>
          <p class="patrol-summary">{d.summary(formatTime(c.from).slice(0, 10), c.patrols)}</p>
          <p class={`patrol-unvisited${unvisited.length ? ' warning' : ''}`} data-count={unvisited.length}>
            {d.unvisited(c.unvisited_days, unvisited.length)}
            {unvisited.length > 0 && `：${unvisited.map((z) => z.name).join('、')}`}
          </p>
          <div class="table-wrap">
            <table class="patrol-table">
              <thead>
                <tr>
                  <th>{d.zone}</th>
                  <th>{d.patrols}</th>
                  <th>{d.walked}</th>
                  <th>{d.checks}</th>
                  <th>{d.lastVisit}</th>
                </tr>
              </thead>
              <tbody>
                {c.zones.map((z) => (
                  <tr key={z.zone} data-zone={z.zone} class={z.unvisited ? 'unvisited' : undefined}>
                    <td>
                      {z.name}
                      {z.unvisited && <span class="badge late">{d.notVisited(c.unvisited_days)}</span>}
                    </td>
                    <td>{z.patrols}</td>
                    <td class="patrol-metres">{d.metres(Math.round(z.walked_m), Math.round(z.road_m))}</td>
                    <td>{z.checks}</td>
                    <td>{z.last_visit ? formatTime(z.last_visit) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
