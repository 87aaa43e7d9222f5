// The street office's preparation for the inspection (迎检): readiness overall, per kind and per
// street, the trend over mock inspections, the items failing most and the points not inspected
// for a month (with CSV and a printable page); test points made from the three surroundings;
// drawing a sample (all points of kinds, or counts per kind with a reproducible seed) for an
// inspector; and, for a failing point, a numbered rectification notice to print.

import { useState } from 'preact/hooks';
import { categories as fetchCategories, chiefs } from '../api';
import type { Notice, ScoreOut } from '../api';
import {
  assignInspection,
  checklists as fetchChecklists,
  drawInspection,
  inspections as fetchInspections,
  issueNotice,
  notices as fetchNotices,
  noticesDue as fetchNoticesDue,
  pointsFromSurroundings,
  readiness as fetchReadiness,
  readinessFile,
} from '../api/inspections';
import { formatTime, lang, t } from '../i18n';
import { useLoad } from '../hooks';
import { ChecklistEditor } from './ChecklistEditor';
import { ErrorText } from './ErrorText';
import { LoadError } from './LoadError';
import { openFile, saveFile } from '../download';

/** Points not inspected for this many days are listed. */
const STALE_DAYS = 30;

const pct = (s: ScoreOut | null | undefined) => (s?.share === null || s?.share === undefined ? '–' : `${(s.share * 100).toFixed(1)}%`);

export function ReadinessPanel() {
  const d = t();
  const w = d.readiness;
  const [tick, setTick] = useState(0);
  const reload = () => setTick((n) => n + 1);
  const [data] = useLoad(
    async () => {
      const [r, lists, list, people, notes, due, cats] = await Promise.all([
        fetchReadiness(STALE_DAYS),
        fetchChecklists(),
        fetchInspections(),
        chiefs(),
        fetchNotices(),
        fetchNoticesDue(),
        fetchCategories(),
      ]);
      return { r, lists, list, people, notes, due, cats };
    },
    [tick],
  );
  const [counts, setCounts] = useState<Record<string, string>>({});
  const [seed, setSeed] = useState('');
  const [name, setName] = useState('');
  const [inspector, setInspector] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [issued, setIssued] = useState<Notice | null>(null);

  if (data.error) return <LoadError error={data.error} />;
  if (!data.value) return <p class="muted">{d.loading}</p>;
  const { r, lists, list, people, notes, due, cats } = data.value;
  const kindName = (code: string) => {
    const k = lists.kinds.find((x) => x.code === code);
    return k ? (lang() === 'en' ? k.en : k.zh) : code;
  };
  const act = async (f: () => Promise<string | null>) => {
    setError(null);
    setMessage(null);
    try {
      setMessage(await f());
      reload();
    } catch (e) {
      setError(e);
    }
  };
  const download = async (format: 'csv' | 'html') => {
    setError(null);
    try {
      const file = await readinessFile(STALE_DAYS, format);
      if (format === 'html') openFile(file);
      else saveFile(file, 'civmap-readiness.csv');
    } catch (e) {
      setError(e);
    }
  };
  const draw = () =>
    act(async () => {
      const strata = lists.kinds
        .map((k) => ({ kind: k.code, raw: (counts[k.code] ?? '').trim() }))
        .filter((s) => s.raw !== '0' && r.points.some((p) => p.point.kind === s.kind))
        .map((s) => ({ kind: s.kind, count: s.raw === '' ? null : Number(s.raw) }));
      const i = await drawInspection({
        name: name.trim() || w.defaultName(list.length + 1),
        strata,
        seed: seed.trim() === '' ? null : Number(seed),
        assignee: inspector || null,
      });
      setName('');
      return w.drawn(i.sample.length, i.seed);
    });
  const failingPoints = r.points.filter((p) => (p.score?.failed ?? 0) > 0);
  return (
    <section class="readiness">
      <h3>{w.title}</h3>
      {r.overall.share === null || r.overall.share === undefined ? (
        <p class="muted">{w.noResults}</p>
      ) : (
        <>
          <p>
            {w.overall} <span class="big" data-readiness={r.overall.share}>{pct(r.overall)}</span>
          </p>
          <p class="muted">{w.counts(r.overall.passed, r.overall.failed)}</p>
        </>
      )}
      <div class="action-row">
        <button type="button" class="btn secondary small" name="readiness-csv" onClick={() => void download('csv')}>
          {w.csv}
        </button>
        <button type="button" class="btn secondary small" name="readiness-print" onClick={() => void download('html')}>
          {w.print}
        </button>
      </div>
      {r.kinds.length > 0 && (
        <table class="readiness-kinds">
          <caption>{w.byKind}</caption>
          <tbody>
            {r.kinds.map((k) => (
              <tr key={k.key} data-kind={k.key}>
                <td>{kindName(k.key)}</td>
                <td>{pct(k.score)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {r.streets.length > 1 && (
        <table>
          <caption>{w.byStreet}</caption>
          <tbody>
            {r.streets.map((k) => (
              <tr key={k.key}>
                <td>{k.key || '–'}</td>
                <td>{pct(k.score)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {r.trend.length > 0 && (
        <table class="readiness-trend">
          <caption>{w.trend}</caption>
          <tbody>
            {r.trend.map((x) => (
              <tr key={x.inspection}>
                <td>{x.name}</td>
                <td>{formatTime(x.created_at)}</td>
                <td>{pct(x.score)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {r.failing.length > 0 && (
        <table class="readiness-failing">
          <caption>{w.failing}</caption>
          <tbody>
            {r.failing.slice(0, 5).map((f) => (
              <tr key={f.code}>
                <td>{lang() === 'en' ? f.en : f.zh}</td>
                <td>{w.fails(f.fails, f.scored)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="muted not-inspected">{w.notInspected(r.stale_days, r.not_inspected.length)}</p>

      {failingPoints.length > 0 && (
        <>
          <h4>{w.failingPoints}</h4>
          <ul class="task-list">
            {failingPoints.map((p) => (
              <li key={p.point.id} class="task" data-failing-point={p.point.id}>
                <span class="task-name">{p.point.name}</span>
                <span class="muted">{pct(p.score)}</span>
                <button
                  type="button"
                  class="btn secondary small"
                  name="issue-notice"
                  onClick={() =>
                    void act(async () => {
                      const n = await issueNotice({ point: p.point.id });
                      setIssued(n);
                      return w.issued(n.number);
                    })
                  }
                >
                  {w.issueNotice}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      {issued && (
        <p class="notice-issued">
          <a href={issued.print_url} target="_blank" rel="noopener" class="btn small" data-action="print-notice">
            {w.printNotice}：{issued.number}
          </a>
        </p>
      )}

      <h4>{w.drawTitle}</h4>
      <p class="muted">
        {w.points(r.points.length)}{' '}
        <button type="button" class="link" name="from-surroundings" onClick={() => void act(async () => w.made((await pointsFromSurroundings()).length))}>
          {w.fromSurroundings}
        </button>
      </p>
      <label class="label">
        {w.name}
        <input name="inspection-name" value={name} placeholder={w.defaultName(list.length + 1)} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <p class="muted">{w.countHint}</p>
      <div class="counts">
        {lists.kinds
          .filter((k) => r.points.some((p) => p.point.kind === k.code))
          .map((k) => (
            <label key={k.code} class="count-row">
              <span>
                {kindName(k.code)}（{r.points.filter((p) => p.point.kind === k.code).length}）
              </span>
              <input name={`count-${k.code}`} inputMode="numeric" value={counts[k.code] ?? ''} onInput={(e) => setCounts({ ...counts, [k.code]: e.currentTarget.value })} />
            </label>
          ))}
      </div>
      <label class="label">
        {w.seed}
        <input name="seed" inputMode="numeric" value={seed} onInput={(e) => setSeed(e.currentTarget.value)} />
      </label>
      <label class="label">
        {w.inspector}
        <select name="inspector" value={inspector} onChange={(e) => setInspector(e.currentTarget.value)}>
          <option value="">{w.noInspector}</option>
          {people.map((c) => (
            <option key={c.id} value={c.id}>
              {c.display_name || c.name}
            </option>
          ))}
        </select>
      </label>
      <button type="button" class="btn" name="draw" onClick={() => void draw()}>
        {w.draw}
      </button>
      {message && <p class="note" role="status">{message}</p>}
      <ErrorText error={error} />

      {list.length > 0 && (
        <>
          <h4>{w.inspections}</h4>
          <ul class="task-list">
            {list.map((i) => (
              <li key={i.id} class="task" data-inspection={i.id}>
                <span class="task-name">{i.name}</span>
                <span class="muted">
                  {w.sample(i.sample.length)} · {(d.inspect.status as Record<string, string>)[i.status] ?? i.status}
                </span>
                <select name="assignee" value={i.assignee ?? ''} aria-label={w.assign} onChange={(e) => {
                    const who = e.currentTarget.value;
                    void act(async () => {
                      await assignInspection(i.id, who);
                      return null;
                    });
                  }}>
                  <option value="" disabled>
                    {w.noInspector}
                  </option>
                  {people.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.display_name || c.name}
                    </option>
                  ))}
                </select>
              </li>
            ))}
          </ul>
        </>
      )}
      {notes.length > 0 && (
        <>
          <h4>{w.notices}</h4>
          <ul class="task-list">
            {notes.map((n) => (
              <li key={n.id} class="task" data-notice={n.number}>
                <span class="task-name">{n.number}</span>
                <span class="muted">{n.unit}</span>
                <span class="task-deadline">
                  {w.deadline} {formatTime(n.deadline)}
                </span>
                <a href={n.print_url} target="_blank" rel="noopener" class="link">
                  {w.printNotice}
                </a>
              </li>
            ))}
          </ul>
        </>
      )}
      {notes.length > 0 && (
        <>
          <h4>{w.dueTitle}</h4>
          {due.length === 0 ? (
            <p class="muted">{w.dueNone}</p>
          ) : (
            <>
              <p class="muted">{w.dueHint}</p>
              <ul class="task-list" data-list="notices-due">
                {due.map(({ notice: n, rectified }) => (
                  <li key={n.id} class={`task${rectified ? '' : ' late'}`} data-due={n.number}>
                    <span class="task-name">{n.number}</span>
                    <span class="muted">
                      {n.unit} · {n.place}
                    </span>
                    <span class="task-deadline">
                      {w.lookback} {formatTime(n.deadline)}
                    </span>
                    <span class={rectified ? 'ok' : 'time-left late'} data-rectified={String(rectified)}>
                      {rectified ? w.rectified : w.notRectified}
                    </span>
                    <a href={n.print_url} target="_blank" rel="noopener" class="link">
                      {w.printNotice}
                    </a>
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
      <ChecklistEditor lists={lists} cats={cats} onChanged={reload} />
    </section>
  );
}
