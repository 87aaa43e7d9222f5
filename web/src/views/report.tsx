// The reporter (grid worker, volunteer, property staff, or anyone): a location from the device or
// a tap on the map, a category, a photo (shrunk on the phone), a description. Errors are shown
// next to the field they are about. A grid worker signs in here (the one sign-in form); after
// sending, the page says the case number, links its page and says where it went, and the form
// is empty for the next report. "My reports" lists the worker's reports with where each stands,
// and asks about a verified one "问题解决了吗？" (回访). A chief may report and fix in one step.

import maplibregl from 'maplibre-gl';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, createProblem, getZone, has, myFeedback, myReports, sendFeedback, transition, uploadPhoto } from '../api';
import type { NewProblem, ProblemFeature } from '../api';
import type { ViewProps } from '../app';
import { categoryName } from '../colors';
import { Field } from '../components/Field';
import { PhotoPicker } from '../components/PhotoPicker';
import { problemCategory } from '../colors';
import { StatusBadge } from '../components/StatusBadge';
import { ErrorText } from '../components/ErrorText';
import { SignIn } from '../components/SignIn';
import { LoadError } from '../components/LoadError';
import { caseNo, dispatchedTo, pageHref, placeOf } from '../caseinfo';
import { formatTime, pick, SEVERITIES, severityName, t } from '../i18n';
import { geolocationText } from '../i18n/errors';
import { useId, useLoad, useProblemLayer } from '../hooks';
import { isStaff, session } from '../session';
import { reachable } from '../connection';
import { offlineReady } from '../offline';
import { enqueue, isOffline, newItemId, outboxSent } from '../outbox';
import type { Sent } from '../outbox';
import { OutboxPanel } from '../components/OutboxPanel';
import { markClean } from '../patrol';

/** How many of my reports are listed. */
const MY_REPORTS_SHOWN = 50;
/** Geolocation: a fresh, precise fix, within 15 s. */
const GEO_OPTIONS: PositionOptions = { enableHighAccuracy: true, timeout: 15_000, maximumAge: 30_000 };
/** Roles that fix what they find in their own zone (当场整改) and may report and fix in one step. */
const FIXING_ROLES = new Set(['point_chief', 'road_chief', 'area_chief']);

/** The form's fields an error can be about; anything else is shown under the form (`body`). */
type FieldName = 'location' | 'category' | 'severity' | 'photos' | 'description' | 'fixNote' | 'body';

/** The field of the form a server error is about. */
function fieldOf(e: unknown): FieldName {
  const f = e instanceof ApiError ? e.field : null;
  if (f === 'lon' || f === 'lat' || f === 'geometry') return 'location';
  if (f?.startsWith('photo')) return 'photos';
  if (f === 'category' || f === 'severity' || f === 'description') return f;
  return 'body';
}

/** Where a report went, in words: "已派给 四平路 路长 张三", or "已收到，等待街道派单". */
async function whereItWent(f: ProblemFeature): Promise<string> {
  const g = t().grid;
  const p = f.properties;
  if (p.status === 'reported' || p.status === 'merged') return g.waiting;
  const named = dispatchedTo(f);
  let zone = named.zone;
  let chief = '';
  if (p.zone) {
    try {
      const z = await getZone(p.zone);
      zone ??= z.properties.name;
      chief = pick(g.zoneChief, z.properties.kind);
    } catch {
      // The zone's name is a courtesy: without it the sentence names who it can.
    }
  }
  const who = [zone, chief, named.assignee].filter(Boolean).join(' ');
  return who ? g.sentTo(who) : g.waiting;
}

/** The reporter's answer about one verified report: 是 / 否 (with a short note). */
function AskSolved({ f, onAnswered }: { f: ProblemFeature; onAnswered: () => void }) {
  const g = t().grid;
  const noteId = useId('feedback-note');
  const [saying, setSaying] = useState(false);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const answer = async (solved: boolean) => {
    if (!solved && !note.trim()) {
      setError(g.needNote);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await sendFeedback(f.properties.id, solved, solved ? '' : note.trim());
      onAnswered();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="ask-solved" data-ask={f.properties.id}>
      <span class="ask-q">{g.askSolved}</span>
      {!saying ? (
        <span class="action-row">
          <button type="button" class="btn primary small" name="solved-yes" disabled={busy} onClick={() => void answer(true)}>
            {g.yes}
          </button>
          <button type="button" class="btn secondary small" name="solved-no" disabled={busy} onClick={() => setSaying(true)}>
            {g.no}
          </button>
        </span>
      ) : (
        <div class="ask-note">
          <label for={noteId} class="label">
            {g.whatsWrong}
          </label>
          <textarea id={noteId} name="feedback-note" rows={2} maxLength={500} placeholder={g.whatsWrongPlaceholder} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
          <span class="action-row">
            <button type="button" class="btn primary small" name="feedback-send" disabled={busy} onClick={() => void answer(false)}>
              {g.send}
            </button>
            <button type="button" class="btn secondary small" disabled={busy} onClick={() => setSaying(false)}>
              {g.cancel}
            </button>
          </span>
        </div>
      )}
      <ErrorText error={error} for="feedback" context="feedback" />
    </div>
  );
}

function MyReports({ cats, reloadKey }: { cats: ViewProps['app']['cats']; reloadKey: number }) {
  const d = t();
  const me = session.value;
  const [answered, setAnswered] = useState(0);
  const [mine] = useLoad(async () => {
    if (!me) return null;
    // The answers are asked for only where the server has them (an older server: no 回访).
    const [reports, answers] = await Promise.all([myReports(), has('/api/v1/me/feedback').then((yes) => (yes ? myFeedback() : []))]);
    return { reports, answers: new Map(answers.map((a) => [a.id, a.answer])) };
  }, [me?.name, reloadKey, answered]);
  if (!me) return null;
  if (mine.error) {
    return (
      <section class="my-reports">
        <h3>{d.myReports}</h3>
        <LoadError error={mine.error} />
      </section>
    );
  }
  const list = mine.value?.reports.features ?? [];
  return (
    <section class="my-reports">
      <h3>{d.myReports}</h3>
      {mine.value && list.length === 0 && <p class="muted">{d.grid.noneYet}</p>}
      <ul class="inbox-list my-list">
        {list.slice(0, MY_REPORTS_SHOWN).map((f) => {
          const answer = mine.value?.answers.get(f.properties.id);
          const no = caseNo(f);
          return (
            <li key={f.properties.id} class="inbox-item my-report" data-problem={f.properties.id} data-case={no ?? undefined}>
              <a class="my-report-link" href={pageHref(f)}>
                <span class="my-report-head">
                  {no && <span class="case-no">{no}</span>}
                  <span class="my-report-cat">{problemCategory(f, cats)}</span>
                  <StatusBadge status={f.properties.status} />
                </span>
                <span class="my-report-place">{placeOf(f)}</span>
                <span class="muted">{formatTime(f.properties.reported_at)}</span>
              </a>
              {answer === 'due' && f.properties.status === 'closed' && <AskSolved f={f} onAnswered={() => setAnswered((k) => k + 1)} />}
              {answer && answer !== 'due' && <span class={`answered answered-${answer}`}>{pick(d.grid.answered, answer)}</span>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** The zoom a point code opens at: the gate or the road stretch fills the phone's screen. */
const CODE_ZOOM = 17;

/** The zone and position of a point code in the page's parameters; `'bad'` when they do not read. */
function pointCode(params: URLSearchParams): { zone: string; at: [number, number] } | 'bad' | null {
  const zone = params.get('zone');
  if (zone === null) return null;
  const [lon, lat] = (params.get('at') ?? '').split(',').map(Number);
  if (!/^[0-9a-f-]{36}$/i.test(zone) || lon === undefined || lat === undefined || !Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lon) > 180 || Math.abs(lat) > 90) return 'bad';
  return { zone, at: [lon, lat] };
}

export function ReportView({ app }: ViewProps) {
  const d = t();
  const g = d.grid;
  const { map, cats, problems } = app;
  const me = session.value;
  const canFix = isStaff(me) && FIXING_ROLES.has(me.role);
  const [at, setAt] = useState<{ ll: [number, number]; accuracy: number | null } | null>(null);
  const [locating, setLocating] = useState(false);
  const [category, setCategory] = useState('');
  const [severity, setSeverity] = useState('medium');
  const [photo, setPhoto] = useState<Blob | null>(null);
  const [description, setDescription] = useState('');
  const [fixed, setFixed] = useState(false);
  const [fixNote, setFixNote] = useState('');
  const [errors, setErrors] = useState<Partial<Record<FieldName, unknown>>>({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<{ created: ProblemFeature; where: string; warning: unknown } | null>(null);
  /** A report kept on the phone (no connection): its outbox id, until the outbox sends it. */
  const [queued, setQueued] = useState<string | null>(null);
  /** When the report was captured: the photo taken or the place set (else: when it is sent). */
  const [capturedAt, setCapturedAt] = useState<Date | null>(null);
  const [mineKey, setMineKey] = useState(0);
  // A new photo input after each report: the same photo can be picked again for the next one.
  const [formKey, setFormKey] = useState(0);
  const marker = useRef<maplibregl.Marker | null>(null);
  const resultRef = useRef<HTMLDivElement>(null);
  const ids = { category: useId('cat'), severity: useId('sev'), description: useId('desc'), fixed: useId('fixed'), fixNote: useId('fix-note') };

  const setError = (field: FieldName, e: unknown) => setErrors((x) => ({ ...x, [field]: e }));
  const clearError = (field: FieldName) => setErrors((x) => ({ ...x, [field]: null }));

  // The marker (draggable) and a tap on the map set the location.
  useProblemLayer(app, false, null);
  useEffect(() => {
    problems.setFilter({});
    const m = new maplibregl.Marker({ color: '#dc2626', draggable: true });
    marker.current = m;
    m.on('dragend', () => {
      const ll = m.getLngLat();
      setAt({ ll: [ll.lng, ll.lat], accuracy: null });
    });
    const onClick = (e: maplibregl.MapMouseEvent) => setAt({ ll: [e.lngLat.lng, e.lngLat.lat], accuracy: null });
    map.on('click', onClick);
    map.getCanvas().style.cursor = 'crosshair';
    return () => {
      map.off('click', onClick);
      m.remove();
      map.getCanvas().style.cursor = '';
    };
  }, []);

  // A point code (点位码) scanned at a school gate or a road opens this page placed at its zone:
  // `#/report?zone={id}&at={lon},{lat}` (a position inside the zone, given by the server).
  const [codeZone, setCodeZone] = useState<string | null>(null);
  const [codeZoneId, setCodeZoneId] = useState<string | null>(null);
  /** "已检查，无问题" recorded for the code's zone (sent, or waiting in the outbox). */
  const [cleanMarked, setCleanMarked] = useState(false);
  useEffect(() => {
    const code = pointCode(app.hash.params);
    if (code === null) return;
    if (code === 'bad') {
      setError('location', d.badCode);
      return;
    }
    setCodeZoneId(code.zone);
    setAt({ ll: code.at, accuracy: null });
    map.jumpTo({ center: code.at, zoom: Math.max(map.getZoom(), CODE_ZOOM) });
    getZone(code.zone).then(
      (z) => setCodeZone(z.properties.name),
      () => setError('location', d.badCode),
    );
  }, []);

  useEffect(() => {
    if (at) {
      setCapturedAt((c) => c ?? new Date());
      marker.current?.setLngLat(at.ll).addTo(map);
      clearError('location');
    } else marker.current?.remove();
  }, [at]);

  const locate = () => {
    clearError('location');
    if (!('geolocation' in navigator)) {
      setError('location', d.geo.unsupported);
      return;
    }
    setLocating(true);
    // The W3C Geolocation API answers WGS-84, which is what the server stores.
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        setLocating(false);
        setAt({ ll: [pos.coords.longitude, pos.coords.latitude], accuracy: pos.coords.accuracy });
        map.easeTo({ center: [pos.coords.longitude, pos.coords.latitude], zoom: Math.max(map.getZoom(), 17) });
      },
      (err) => {
        setLocating(false);
        setError('location', geolocationText(err));
      },
      GEO_OPTIONS,
    );
  };

  /** Empties the form for the next report (the confirmation stays until then). */
  const clearForm = () => {
    setAt(null);
    setCategory('');
    setSeverity('medium');
    setPhoto(null);
    setDescription('');
    setFixed(false);
    setFixNote('');
    setCapturedAt(null);
    setFormKey((k) => k + 1);
  };

  const send = async (ev: Event) => {
    ev.preventDefault();
    const missing: Partial<Record<FieldName, unknown>> = {};
    if (!at) missing.location = d.noLocation;
    if (!category) missing.category = d.pickCategory;
    if (fixed && !fixNote.trim()) missing.fixNote = d.notePlaceholders.rectify;
    setErrors(missing);
    setDone(null);
    setQueued(null);
    if (!at || !category || (fixed && !fixNote.trim())) return;
    setBusy(true);
    const signedIn = !!session.value;
    const body: NewProblem = {
      lon: Number(at.ll[0].toFixed(7)),
      lat: Number(at.ll[1].toFixed(7)),
      category,
      severity,
      description: description.trim(),
      captured_at: (capturedAt ?? new Date()).toISOString(),
      ...(at.accuracy !== null ? { accuracy_m: Math.round(at.accuracy * 10) / 10 } : {}),
    };
    // The report's id on the phone and its writes' Idempotency-Key: a send whose answer was lost
    // and that is sent again from the outbox makes one problem, not two.
    const key = newItemId();
    const category_ = cats.find((c) => c.code === category);
    const queue = async () => {
      await enqueue({
        id: key,
        write: { kind: 'report', body, auth: signedIn, ...(fixed ? { fixNote: fixNote.trim() } : {}) },
        label: category_ ? categoryName(category_) : category,
        photo: body.photos?.length ? null : photo,
        photoId: body.photos?.[0] ?? null,
      });
      setQueued(key);
      clearForm();
      queueMicrotask(() => resultRef.current?.scrollIntoView({ block: 'nearest' }));
    };
    if (!navigator.onLine || !reachable.value) {
      try {
        await queue();
      } catch (e) {
        setError('body', e);
      } finally {
        setBusy(false);
      }
      return;
    }
    try {
      let warning: unknown = null;
      if (photo) {
        if (await has('/api/v1/photos')) {
          try {
            body.photos = [(await uploadPhoto(photo, signedIn, `${key}:photo`)).id];
          } catch (e) {
            if (isOffline(e)) {
              await queue();
              return;
            }
            // The photo's own errors (too large, a format the server does not read) belong beside it.
            setError(fieldOf(e) === 'body' ? 'photos' : fieldOf(e), e);
            return;
          }
        } else warning = d.photoNotSent;
      }
      let created = await createProblem(body, signedIn, key);
      let where: string;
      if (fixed) {
        // Report and fix in one step: the same photo is the after photo, the note says what was done.
        try {
          created = await transition(created.properties.id, 'rectify', { version: created.properties.version, note: fixNote.trim(), photos: body.photos ?? [] }, `${key}:rectify`);
          where = g.reportedAndFixed;
        } catch (e) {
          where = await whereItWent(created);
          warning = e;
        }
      } else where = await whereItWent(created);
      problems.upsert(created);
      problems.select(created);
      setDone({ created, where, warning });
      clearForm();
      setMineKey((k) => k + 1);
      queueMicrotask(() => resultRef.current?.scrollIntoView({ block: 'nearest' }));
    } catch (e) {
      if (isOffline(e)) await queue();
      else setError(fieldOf(e), e);
    } finally {
      setBusy(false);
    }
  };

  // The first field with an error scrolls into view.
  useEffect(() => {
    document.querySelector('.report-form .field-error:not(:empty)')?.scrollIntoView({ block: 'nearest' });
  }, [errors]);

  const no = done ? caseNo(done.created) : null;
  // A report's send always answers its problem (only a passed inspection item answers none).
  const sentLater = queued ? outboxSent.value.find((x): x is Sent & { feature: ProblemFeature } => x.id === queued && x.feature !== null) : undefined;
  const laterNo = sentLater ? caseNo(sentLater.feature) : null;
  return (
    <>
      {me === null ? (
        <details class="report-signin">
          <summary>{g.signInSummary}</summary>
          <SignIn />
        </details>
      ) : (
        <SignIn />
      )}
      <form class="report-form" noValidate onSubmit={(e) => void send(e)}>
        <h2 class="panel-title">{d.reportTitle}</h2>
        {offlineReady.value && <p class="offline-ready">{d.outbox.offlineReady}</p>}
        <OutboxPanel />
        <div class="result" aria-live="polite" ref={resultRef}>
          {queued && !sentLater && (
            <div class="sent-panel queued-panel" data-queued={queued}>
              <p class="queued-line">{d.outbox.savedOnPhone}</p>
            </div>
          )}
          {sentLater && (
            <div class="sent-panel" data-created={sentLater.feature.properties.id} data-sent-later={queued ?? undefined}>
              <p class="success">{laterNo ? d.outbox.sentCase(laterNo) : d.outbox.sent}</p>
              <a class="btn secondary small case-link" href={pageHref(sentLater.feature)}>
                {g.openPage}
              </a>
            </div>
          )}
          {done && (
            <div class="sent-panel" data-created={done.created.properties.id}>
              <p class="success" data-created={done.created.properties.id}>
                {d.submitted}
              </p>
              {no && (
                <p class="case-no-line" data-case={no}>
                  {g.caseNo(no)}
                </p>
              )}
              <p class="sent-to">{done.where}</p>
              <a class="btn secondary small case-link" href={pageHref(done.created)}>
                {g.openPage}
              </a>
              {typeof done.warning === 'string' && <p class="warning">{done.warning}</p>}
              {done.warning && typeof done.warning !== 'string' && (
                <p class="warning">
                  {g.fixNotDone}
                  <ErrorText error={done.warning} inline context="rectify" />
                </p>
              )}
            </div>
          )}
        </div>
        <Field name="location" label={d.location} error={errors.location}>
          <div class="loc-row">
            <button type="button" class="btn secondary" name="locate" disabled={locating} onClick={locate}>
              {locating ? d.locating : d.useMyLocation}
            </button>
            <span class="muted">{d.tapMap}</span>
          </div>
          {codeZone && (
            <p class="note" data-point-code>
              {d.fromCode(codeZone)}
            </p>
          )}
          {/* Its chief (or the street office) may say it checked the place and found it clean. */}
          {codeZone && codeZoneId && isStaff(me) && (me.zones.includes(codeZoneId) || me.role === 'street_office' || me.role === 'admin') && (
            <div class="code-check">
              {cleanMarked ? (
                <p class="success code-checked" role="status">
                  {d.patrol.fromCodeDone(codeZone)}
                </p>
              ) : (
                <button
                  type="button"
                  class="btn secondary"
                  name="code-clean"
                  onClick={() => void markClean(codeZoneId, d.patrol.checkLabel(codeZone), null, at?.ll ?? null).then(() => setCleanMarked(true))}
                >
                  {d.patrol.fromCodeClean}
                </button>
              )}
            </div>
          )}
          <p class={`loc-text${at ? '' : ' muted'}`}>
            {at ? d.selectedAt(at.ll[0].toFixed(6), at.ll[1].toFixed(6)) + (at.accuracy !== null ? ` · ${d.accuracy(Math.round(at.accuracy))}` : '') : d.reportHint}
          </p>
        </Field>
        <Field name="category" label={d.category} for={ids.category} error={errors.category}>
          <select
            id={ids.category}
            name="category"
            required
            value={category}
            onChange={(e) => {
              setCategory(e.currentTarget.value);
              clearError('category');
            }}
          >
            <option value="">{d.pickCategory}</option>
            {cats.map((c) => (
              <option key={c.code} value={c.code}>
                {categoryName(c)}
              </option>
            ))}
          </select>
        </Field>
        <Field name="severity" label={d.severity} for={ids.severity} error={errors.severity}>
          <select id={ids.severity} name="severity" value={severity} onChange={(e) => setSeverity(e.currentTarget.value)}>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {severityName(s)}
              </option>
            ))}
          </select>
        </Field>
        <Field name="photos" label={d.photo} error={errors.photos}>
          <PhotoPicker
            key={formKey}
            name="photo"
            photo={photo}
            onChange={(b) => {
              setPhoto(b);
              if (b) setCapturedAt(new Date());
              clearError('photos');
            }}
          />
        </Field>
        <Field name="description" label={d.description} for={ids.description} error={errors.description}>
          <textarea
            id={ids.description}
            name="description"
            rows={3}
            maxLength={2000}
            placeholder={d.descriptionPlaceholder}
            value={description}
            onInput={(e) => {
              setDescription(e.currentTarget.value);
              clearError('description');
            }}
          />
        </Field>
        {canFix && (
          <div class="field fixed-on-spot">
            <label for={ids.fixed} class="check">
              <input id={ids.fixed} type="checkbox" name="fixed-on-spot" checked={fixed} onChange={(e) => setFixed(e.currentTarget.checked)} /> {g.fixedOnSpot}
            </label>
            <p class="note">{g.fixedOnSpotHint}</p>
            {fixed && (
              <Field name="fixNote" label={g.fixNote} for={ids.fixNote} error={errors.fixNote}>
                <textarea
                  id={ids.fixNote}
                  name="fix-note"
                  rows={2}
                  maxLength={2000}
                  placeholder={d.notePlaceholders.rectify}
                  value={fixNote}
                  onInput={(e) => {
                    setFixNote(e.currentTarget.value);
                    clearError('fixNote');
                  }}
                />
              </Field>
            )}
          </div>
        )}
        <ErrorText error={errors.body} for="body" />
        <button type="submit" class="btn primary" name="submit" disabled={busy}>
          {busy ? d.submitting : d.submit}
        </button>
      </form>
      <MyReports cats={cats} reloadKey={mineKey} />
    </>
  );
}
