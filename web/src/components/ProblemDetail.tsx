// A problem's detail for staff: its card, the lifecycle steps its status allows (with a note and
// an after photo, shrunk before upload), and its history with the evidence photos. A stale
// version (409) reloads the problem and says so. The street office may also hide the description
// from the public or reword it, and issue a rectification notice for it (`moderate`).

import { useState } from 'preact/hooks';
import { ApiError, getHistory, getProblem, has, NEXT_ACTIONS, setPublicText, transition, uploadPhoto } from '../api';
import type { Action, Category, ProblemFeature } from '../api';
import { actionName, t } from '../i18n';
import { useId, useLoad, useSend } from '../hooks';
import { ErrorText } from './ErrorText';
import { Field } from './Field';
import { FoldedForm } from './FoldedForm';
import { HistoryList } from './HistoryList';
import { LoadError } from './LoadError';
import { NoticeForm } from './NoticeForm';
import { PhotoPicker } from './PhotoPicker';
import { ProblemCard } from './ProblemCard';
import { reachable } from '../connection';
import { caseNo, placeOf } from '../caseinfo';
import { enqueue, isOffline, newItemId } from '../outbox';

/** Steps a chief may take without a connection: kept on the phone and sent later. */
const QUEUEABLE: readonly Action[] = ['rectify'];

export function ProblemDetail(props: {
  problem: ProblemFeature;
  cats: Category[];
  /** The steps this console offers (a chief does not verify); all the status allows by default. */
  allowed?: readonly Action[];
  /** The street office's console: offer hiding or rewording the description for the public. */
  moderate?: boolean;
  onChanged: (f: ProblemFeature) => void;
  onClose: () => void;
}) {
  const d = t();
  const f = props.problem;
  const pr = f.properties;
  const noteId = useId('note');
  const [note, setNote] = useState('');
  const [photo, setPhoto] = useState<Blob | null>(null);
  const [busy, setBusy] = useState(false);
  /** The last step's error, and the part of the form it is about (`note`, `photos`, else `action`). */
  const [error, setError] = useState<{ error: unknown; action: Action; at: 'note' | 'photos' | 'action' } | null>(null);
  const [warning, setWarning] = useState<string | null>(null);
  /** Said after a step was kept on the phone to be sent later. */
  const [queued, setQueued] = useState(false);
  // A public wording does not change the version: reload the history on it too.
  // A notice is an event of its own (the problem's version stays): count them to reload the history.
  const [notices, setNotices] = useState(0);
  const [history] = useLoad(() => getHistory(pr.id, true), [pr.id, pr.version, pr.public_description, pr.description_hidden, notices]);
  const errorAt = (at: 'note' | 'photos' | 'action') => (error?.at === at ? error.error : null);
  const actions = (NEXT_ACTIONS[pr.status] ?? []).filter((a) => !props.allowed || props.allowed.includes(a));
  // Found reported (or come back) in the chief's own zone: fixed on the spot (当场整改), no dispatch needed.
  const selfFix = actions.includes('rectify') && (pr.status === 'reported' || pr.status === 'recurred');
  // The note's hint says when it is required: to rectify always, to reject always.
  const placeholder = actions.includes('rectify') ? d.notePlaceholders.rectify : actions.includes('reject') ? d.notePlaceholders.reject : d.notePlaceholder;

  const act = async (a: Action) => {
    setError(null);
    setWarning(null);
    setQueued(false);
    setBusy(true);
    // One key for the step and its photo: a send whose answer was lost is not done twice.
    const key = newItemId();
    let photoId: string | null = null;
    const queue = async () => {
      await enqueue({
        id: key,
        write: { kind: 'rectify', problem: pr.id, version: pr.version, note: note.trim() },
        label: [caseNo(f), placeOf(f)].filter(Boolean).join(' '),
        photo: photoId ? null : photo,
        photoId,
      });
      setNote('');
      setPhoto(null);
      setQueued(true);
    };
    if (QUEUEABLE.includes(a) && (!navigator.onLine || !reachable.value)) {
      try {
        await queue();
      } catch (e) {
        setError({ error: e, action: a, at: 'action' });
      } finally {
        setBusy(false);
      }
      return;
    }
    try {
      // Evidence photos are uploaded first and referenced by id (SHA-256) in the step.
      const photos: string[] = [];
      let warn: string | null = null;
      if (photo) {
        if (!(await has('/api/v1/photos'))) warn = d.photoNotSentStep;
        else {
          try {
            photoId = (await uploadPhoto(photo, true, `${key}:photo`)).id;
            photos.push(photoId);
          } catch (e) {
            if (QUEUEABLE.includes(a) && isOffline(e)) {
              await queue();
              return;
            }
            // Too large, a format the server does not read: said beside the photo.
            setError({ error: e, action: a, at: 'photos' });
            return;
          }
        }
      }
      const next = await transition(pr.id, a, { version: pr.version, note: note.trim(), photos }, key);
      setNote('');
      setPhoto(null);
      setWarning(warn);
      props.onChanged(next);
    } catch (e) {
      if (QUEUEABLE.includes(a) && isOffline(e)) {
        await queue();
      } else if (e instanceof ApiError && e.status === 409 && e.currentVersion !== null) {
        props.onChanged(await getProblem(pr.id, true));
        setWarning(d.stale);
      } else {
        const field = e instanceof ApiError ? e.field : null;
        setError({ error: e, action: a, at: field === 'note' ? 'note' : field?.startsWith('photo') ? 'photos' : 'action' });
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="detail" data-problem={pr.id}>
      <div class="detail-head">
        <button type="button" class="link" onClick={props.onClose}>
          {d.backToList}
        </button>
      </div>
      <ProblemCard problem={f} cats={props.cats} />
      {pr.description_hidden === true ? (
        <p class="public-text muted">{d.publicText.hidden}</p>
      ) : typeof pr.public_description === 'string' ? (
        <p class="public-text muted">{d.publicText.shown(pr.public_description)}</p>
      ) : null}
      {props.moderate && <PublicTextForm problem={f} onChanged={props.onChanged} />}
      {props.moderate && <NoticeForm problem={pr.id} onIssued={() => setNotices((n) => n + 1)} />}
      {actions.length > 0 && (
        <div class="actions">
          {selfFix && <p class="note self-fix-hint">{d.grid.selfFixHint}</p>}
          <Field name="note" label={d.note} for={noteId} error={errorAt('note')} context={error?.action}>
            <textarea id={noteId} name="note" rows={2} maxLength={2000} placeholder={placeholder} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
          </Field>
          <Field name="photos" label={d.evidencePhoto} error={errorAt('photos')} context={error?.action}>
            <PhotoPicker name="evidence" photo={photo} onChange={setPhoto} buttonClass="small" />
          </Field>
          <div class="action-row">
            {actions.map((a) => (
              <button key={a} type="button" class={`btn ${a === 'verify' || a === 'dispatch' ? 'primary' : 'secondary'}`} data-action={a} disabled={busy || (!reachable.value && !QUEUEABLE.includes(a))} title={reachable.value || QUEUEABLE.includes(a) ? undefined : d.connection.offlineAction} onClick={() => void act(a)}>
                {a === 'rectify' && selfFix ? d.grid.selfFix : actionName(a)}
              </button>
            ))}
          </div>
          <ErrorText error={errorAt('action')} context={error?.action ?? null} for="action" />
        </div>
      )}
      {warning && (
        <p class="warning" role="alert">
          {warning}
        </p>
      )}
      {queued && (
        <p class="queued" role="status" data-queued="rectify">
          {d.outbox.savedOnPhone}
        </p>
      )}
      <h3>{d.history}</h3>
      <div class="history-box">
        {history.value ? (
          <HistoryList events={history.value.events} staff />
        ) : history.error ? (
          <LoadError error={history.error} />
        ) : (
          <p class="muted">{d.loading}</p>
        )}
      </div>
    </div>
  );
}

/** The street office's "hide from the public / reword" form, folded behind one button. */
function PublicTextForm(props: { problem: ProblemFeature; onChanged: (f: ProblemFeature) => void }) {
  const d = t();
  const pr = props.problem.properties;
  const wordingId = useId('public-wording');
  const reasonId = useId('public-reason');
  const [open, setOpen] = useState(false);
  const [hide, setHide] = useState(true);
  const [wording, setWording] = useState('');
  const [reason, setReason] = useState('');
  const { busy, error, setError, send } = useSend();
  const [saved, setSaved] = useState(false);
  const errorAt = (field: string) => (error instanceof ApiError && error.field === field ? error : null);
  const other = error && !errorAt('note') && !errorAt('public_description') ? error : null;

  const start = () => {
    setHide(pr.description_hidden !== false);
    setWording(pr.public_description ?? '');
    setReason('');
    setError(null);
    setSaved(false);
    setOpen(true);
  };
  const save = async () => {
    const next = await send(() => setPublicText(pr.id, hide ? { hidden: true, note: reason.trim() } : { hidden: false, public_description: wording.trim(), note: reason.trim() }));
    if (!next) return;
    setOpen(false);
    setSaved(true);
    props.onChanged(next);
  };

  if (!open) {
    return (
      <div class="public-text-actions">
        <button type="button" class="btn secondary small" data-action="public-text" onClick={start}>
          {d.publicText.open}
        </button>
        {saved && (
          <p class="success" role="status">
            {d.publicText.saved}
          </p>
        )}
      </div>
    );
  }
  return (
    <FoldedForm class="public-text-form" busy={busy} submit={{ label: d.publicText.save, action: 'public-text-save' }} cancel={d.publicText.cancel} onSubmit={() => void save()} onCancel={() => setOpen(false)} error={other} errorFor="public-text">
      <label class="choice">
        <input type="radio" name="public-mode" value="hide" checked={hide} onChange={() => setHide(true)} />
        {d.publicText.hide}
      </label>
      <label class="choice">
        <input type="radio" name="public-mode" value="reword" checked={!hide} onChange={() => setHide(false)} />
        {d.publicText.reword}
      </label>
      {!hide && (
        <Field name="public_description" label={d.publicText.wording} for={wordingId} error={errorAt('public_description')}>
          <textarea id={wordingId} name="public_description" rows={2} maxLength={2000} placeholder={d.publicText.wordingPlaceholder} value={wording} onInput={(e) => setWording(e.currentTarget.value)} />
        </Field>
      )}
      <Field name="public_note" label={d.publicText.reason} for={reasonId} error={errorAt('note')} context="public">
        <textarea id={reasonId} name="public_note" rows={2} maxLength={2000} placeholder={d.publicText.reasonPlaceholder} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </Field>
    </FoldedForm>
  );
}
