// The inspector's walk (模拟测评, on a phone): sign in; the inspections assigned to me; the
// points of one sample in walking order with how many items are scored; at a point, pass or
// fail for each item of its checklist — a fail needs a photo (shrunk on the phone before upload)
// and becomes a problem at the point, dispatched at once. The public sees nothing of this.

import { useState } from 'preact/hooks';
import { uploadPhoto } from '../api';
import type { ChecklistItem, Checklists, InspectionDetail, TestPoint } from '../api';
import { checklists as fetchChecklists, finishInspection, inspection as fetchInspection, inspections as fetchInspections, recordResult } from '../api/inspections';
import type { ViewProps } from '../app';
import { ErrorText } from '../components/ErrorText';
import { LoadError } from '../components/LoadError';
import { PhotoPicker } from '../components/PhotoPicker';
import { OutboxPanel } from '../components/OutboxPanel';
import { SignIn } from '../components/SignIn';
import { enqueue, isOffline, newItemId, outboxItems, outboxSent } from '../outbox';
import { formatTime, lang, t } from '../i18n';
import { useLoad } from '../hooks';
import { isStaff, session } from '../session';

/** A kind or an item's name in the page's language. */
const named = (x: { zh: string; en: string } | undefined, fallback: string) => (x ? (lang() === 'en' ? x.en : x.zh) : fallback);

function itemsOf(lists: Checklists, kind: string): ChecklistItem[] {
  return lists.items.filter((i) => i.kinds.includes(kind));
}

/** One item at one point: its outcome, or pass/fail buttons (a fail opens the photo form). */
function ItemRow(props: { detail: InspectionDetail; point: TestPoint; item: ChecklistItem; onRecorded: () => void }) {
  const w = t().inspect;
  const { detail, point, item } = props;
  const done = detail.results.find((r) => r.point === point.id && r.item === item.code);
  const open = detail.inspection.status === 'open';
  const [failing, setFailing] = useState(false);
  const [photo, setPhoto] = useState<Blob | null>(null);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // An outcome recorded without a connection waits on the phone (the outbox) until it is sent.
  const waiting = outboxItems.value.some(
    (o) => o.write.kind === 'inspect' && o.write.inspection === detail.inspection.id && o.write.body.point === point.id && o.write.body.item === item.code,
  );
  const send = async (pass: boolean) => {
    if (!pass && !photo) {
      setError(w.needPhoto);
      return;
    }
    setBusy(true);
    setError(null);
    // The outcome's `Idempotency-Key`: sent now or later from the outbox, it is stored once.
    const key = newItemId();
    const clear = () => {
      setFailing(false);
      setPhoto(null);
      setNote('');
    };
    try {
      const photos = photo ? [(await uploadPhoto(photo, true, `${key}:photo`)).id] : [];
      await recordResult(detail.inspection.id, { point: point.id, item: item.code, pass, photos, note }, key);
      clear();
      props.onRecorded();
    } catch (e) {
      if (isOffline(e)) {
        await enqueue({
          id: key,
          write: { kind: 'inspect', inspection: detail.inspection.id, body: { point: point.id, item: item.code, pass, photos: [], note } },
          label: `${point.name} · ${named(item, item.code)}：${pass ? w.passed : w.failShort}`,
          photo: pass ? null : photo,
        });
        clear();
      } else setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <li class="inspect-item" data-item={item.code} data-outcome={done ? (done.pass ? 'pass' : 'fail') : 'none'}>
      <div class="inspect-item-head">
        <span class="inspect-item-name">{named(item, item.code)}</span>
        {done && <span class={`badge ${done.pass ? 'ok' : 'late'}`}>{done.pass ? w.passed : w.failedProblem}</span>}
        {!done && waiting && <span class="badge queued">{w.queued}</span>}
      </div>
      {open && !failing && !done && !waiting && (
        <div class="action-row">
          <button type="button" class="btn small" name="pass" disabled={busy} onClick={() => void send(true)}>
            {w.pass}
          </button>
          <button type="button" class="btn secondary small" name="fail" disabled={busy} onClick={() => setFailing(true)}>
            {w.fail}
          </button>
        </div>
      )}
      {open && failing && (
        <div class="inspect-fail">
          <PhotoPicker
            name={`photo-${item.code}`}
            label={w.failPhoto}
            photo={photo}
            onChange={(p) => {
              setPhoto(p);
              if (p) setError(null);
            }}
          />
          <label class="label">
            {w.note}
            <textarea name="note" rows={2} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
          </label>
          <div class="action-row">
            <button type="button" class="btn small" name="submit-fail" disabled={busy} onClick={() => void send(false)}>
              {busy ? w.saving : w.submitFail}
            </button>
            <button type="button" class="link" onClick={() => setFailing(false)}>
              {w.cancel}
            </button>
          </div>
        </div>
      )}
      <ErrorText error={error} context="inspect" />
    </li>
  );
}

/** One sample: its points, then one point's checklist. */
function Walk({ id, app, onBack }: { id: string; app: ViewProps['app']; onBack: () => void }) {
  const d = t();
  const w = d.inspect;
  const [tick, setTick] = useState(0);
  // Outcomes the outbox sent meanwhile are read back (the list of what was sent grows).
  const [data] = useLoad(async () => ({ detail: await fetchInspection(id), lists: await fetchChecklists() }), [id, tick, outboxSent.value.length]);
  const [at, setAt] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  if (data.error) return <ErrorText error={data.error} context="inspect" />;
  if (!data.value) return <p class="muted">{d.loading}</p>;
  const { detail, lists } = data.value;
  const scored = (p: TestPoint) => new Set(detail.results.filter((r) => r.point === p.id).map((r) => r.item)).size;
  const complete = (p: TestPoint) => scored(p) >= itemsOf(lists, p.kind).length;
  const point = detail.points.find((p) => p.id === at);
  const kindName = (k: string) => named(lists.kinds.find((x) => x.code === k), k);
  if (point) {
    const items = itemsOf(lists, point.kind);
    return (
      <section class="inspect-point" data-point={point.id}>
        <OutboxPanel />
        <button type="button" class="link" name="back-to-points" onClick={() => setAt(null)}>
          ← {w.backToPoints}
        </button>
        <h3>{point.name}</h3>
        <p class="muted">
          {kindName(point.kind)} · {w.items(scored(point), items.length)}
          {point.owner && ` · ${w.owner}：${point.owner}`}
        </p>
        <ul class="inspect-items">
          {items.map((item) => (
            <ItemRow key={item.code} detail={detail} point={point} item={item} onRecorded={() => setTick((n) => n + 1)} />
          ))}
        </ul>
      </section>
    );
  }
  const finished = detail.points.filter(complete).length;
  const finish = async () => {
    setError(null);
    try {
      await finishInspection(id);
      setTick((n) => n + 1);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section class="inspect-walk" data-inspection={id}>
      <button type="button" class="link" name="back-to-list" onClick={onBack}>
        ← {w.backToList}
      </button>
      <h3>{detail.inspection.name}</h3>
      <p class="muted inspect-progress">{w.progress(finished, detail.points.length)}</p>
      <ul class="task-list">
        {detail.points.map((p) => (
          <li key={p.id}>
            <button
              type="button"
              class={`task${complete(p) ? ' done' : ''}`}
              data-point={p.id}
              onClick={() => {
                app.map.easeTo({ center: p.location as [number, number], zoom: Math.max(app.map.getZoom(), 17) });
                setAt(p.id);
              }}
            >
              <span class="task-name">{p.name}</span>
              <span class="muted">{kindName(p.kind)}</span>
              <span class="task-deadline">{w.items(scored(p), itemsOf(lists, p.kind).length)}</span>
            </button>
          </li>
        ))}
      </ul>
      {detail.inspection.status === 'open' ? (
        <button type="button" class="btn secondary small" name="finish" onClick={() => void finish()}>
          {w.finish}
        </button>
      ) : (
        <p class="muted">{w.finished}</p>
      )}
      <ErrorText error={error} context="inspect" />
    </section>
  );
}

function MyInspections({ onOpen }: { onOpen: (id: string) => void }) {
  const d = t();
  const w = d.inspect;
  const [list] = useLoad(() => fetchInspections(), []);
  if (list.error) return <LoadError error={list.error} />;
  if (!list.value) return <p class="muted">{d.loading}</p>;
  if (list.value.length === 0) return <p class="muted">{w.none}</p>;
  return (
    <>
      <h3>{w.mine}</h3>
      <ul class="task-list">
        {list.value.map((i) => (
          <li key={i.id}>
            <button type="button" class="task" data-inspection={i.id} onClick={() => onOpen(i.id)}>
              <span class="task-name">{i.name}</span>
              <span class="muted">{t().readiness.sample(i.sample.length)}</span>
              <span class="task-deadline">
                {(w.status as Record<string, string>)[i.status] ?? i.status} · {formatTime(i.created_at)}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

export function InspectView({ app }: ViewProps) {
  const d = t();
  const me = session.value;
  const [open, setOpen] = useState<string | null>(() => app.hash.params.get('i'));
  const choose = (id: string | null) => {
    setOpen(id);
    if (id) app.hash.params.set('i', id);
    else app.hash.params.delete('i');
    app.syncUrl();
  };
  return (
    <>
      <h2 class="panel-title">{d.nav.inspect}</h2>
      <SignIn />
      {isStaff(me) && (
        <>
          <p class="muted">{d.inspect.intro}</p>
          {open ? <Walk id={open} app={app} onBack={() => choose(null)} /> : <MyInspections onOpen={choose} />}
        </>
      )}
    </>
  );
}
