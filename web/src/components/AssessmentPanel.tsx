// The street office's assessment (综合评价, the weekly report): period and grouping, a table with
// the on-time rate as a bar and the previous period under each figure, a CSV for Excel and a
// printable page.

import { useState } from 'preact/hooks';
import { assessment, assessmentFile } from '../api';
import type { Figures } from '../api';
import { CST_OFFSET_MS, formatDays, t } from '../i18n';
import { useLoad } from '../hooks';
import { ErrorText } from './ErrorText';
import { LoadError } from './LoadError';
import { openFile, saveFile } from '../download';

const DAY_MS = 86_400_000;

/** Monday 00:00 in Shanghai (UTC+8) of the week holding `t`. */
function weekStart(t: Date): Date {
  const local = new Date(t.getTime() + CST_OFFSET_MS);
  const dow = (local.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() - dow) - CST_OFFSET_MS);
}

function range(period: string): { from: string; to: string } {
  const now = new Date();
  if (period === '30') return { from: new Date(now.getTime() - 30 * DAY_MS).toISOString(), to: now.toISOString() };
  const start = weekStart(now);
  return period === 'this'
    ? { from: start.toISOString(), to: new Date(start.getTime() + 7 * DAY_MS).toISOString() }
    : { from: new Date(start.getTime() - 7 * DAY_MS).toISOString(), to: start.toISOString() };
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${Math.round(x * 100)}%`);

function Cell({ now, before, class: cls, children }: { now: string; before: string; class?: string; children?: preact.ComponentChildren }) {
  return (
    <td class={cls}>
      {children}
      {now}
      <small class="prev" title={t().assessment.previous}>
        {before}
      </small>
    </td>
  );
}

export function AssessmentPanel() {
  const w = t().assessment;
  const [period, setPeriod] = useState('last');
  const [by, setBy] = useState('street');
  const [fileError, setFileError] = useState<unknown>(null);
  const [a] = useLoad(() => assessment({ ...range(period), by }), [period, by]);
  const download = async (format: 'csv' | 'html') => {
    setFileError(null);
    try {
      const file = await assessmentFile({ ...range(period), by }, format);
      if (format === 'html') openFile(file);
      else saveFile(file, 'civmap-assessment.csv');
    } catch (e) {
      setFileError(e);
    }
  };
  return (
    <section class="assessment">
      <h3>{w.title}</h3>
      <div class="loc-row">
        <select name="assessment-period" value={period} onChange={(e) => setPeriod(e.currentTarget.value)}>
          <option value="last">{w.lastWeek}</option>
          <option value="this">{w.thisWeek}</option>
          <option value="30">{w.last30}</option>
        </select>
        <select name="assessment-by" value={by} onChange={(e) => setBy(e.currentTarget.value)}>
          <option value="street">{w.byStreet}</option>
          <option value="zone">{w.byZone}</option>
          <option value="chief">{w.byChief}</option>
        </select>
      </div>
      <div class="action-row">
        <button type="button" class="btn secondary small" name="assessment-csv" onClick={() => void download('csv')}>
          {w.csv}
        </button>
        <button type="button" class="btn secondary small" name="assessment-print" onClick={() => void download('html')}>
          {w.print}
        </button>
      </div>
      <ErrorText error={fileError} for="assessment" />
      <div class="assessment-out">
        {a.error ? (
          <LoadError error={a.error} />
        ) : !a.value ? (
          <p class="muted">…</p>
        ) : (
          <>
            <p class="muted period-days">{formatDays(a.value.from, a.value.to)}</p>
            <div class="table-wrap">
              <table class="assessment-table">
                <thead>
                  <tr>
                    {[w.group, w.reported, w.closed, w.onTime, w.rework, w.recurred, w.median, w.open].map((h) => (
                      <th key={h}>{h}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {a.value.rows.map((r) => {
                    const c: Figures = r.current;
                    const p: Figures = r.previous;
                    return (
                      <tr key={r.key} data-row={r.key}>
                        <td>{r.name}</td>
                        <Cell now={String(c.reported)} before={String(p.reported)} />
                        <Cell now={String(c.closed)} before={String(p.closed)} />
                        <Cell now={pct(c.on_time_rate)} before={pct(p.on_time_rate)} class="rate">
                          <span class="bar-track">
                            <span class="bar" style={{ width: `${Math.round((c.on_time_rate ?? 0) * 100)}%` }} />
                          </span>
                        </Cell>
                        <Cell now={pct(c.rework_rate)} before={pct(p.rework_rate)} />
                        <Cell now={String(c.recurred)} before={String(p.recurred)} />
                        <td>{c.median_fix_hours === null || c.median_fix_hours === undefined ? '–' : c.median_fix_hours.toFixed(1)}</td>
                        <td>{`${c.open}/${c.overdue}`}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </>
        )}
      </div>
    </section>
  );
}
