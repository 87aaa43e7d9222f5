// A problem's history (the rectification ledger), oldest first. Staff read each event as a
// sentence in the interface language, named ("演示街道办：核查通过，结案"; "超期未整改，系统自动转给片长" for
// an escalation with no actor), with the person's note and the evidence photos; the public sees what happened and when.

import type { HistoryEvent } from '../api';
import { formatTime, pick, statusName, t } from '../i18n';
import { PhotoStrip } from './PhotoStrip';

/** The event in words: for staff, who did what (system events have no actor). */
export function eventSentence(e: HistoryEvent, staff: boolean): string {
  const d = t();
  if (!staff) return pick(d.events, e.kind);
  const system = e.actor === null || e.actor === undefined;
  const sentences: Record<string, string> = d.eventSentences;
  let key: string = e.kind;
  if (e.kind === 'reinspected' && e.data?.result === 'came_back') key = 'reinspected.came_back';
  // Imported records (the demo, a CSV of earlier complaints) name their source.
  else if (e.kind === 'created' && typeof e.data?.source === 'string') key = 'created.imported';
  // An escalation no area-chief could take went to the street office (`assignee: null`).
  else if (system && e.kind === 'escalated' && e.data && 'assignee' in e.data && e.data.assignee === null) key = 'escalated.system.office';
  else if (e.kind === 'rectified' && e.data?.self_fix === true) key = 'rectified.self_fix';
  // The street office hid the description from the public, or gave it a public wording.
  else if (e.kind === 'edited' && e.data?.hidden === true) key = 'edited.public_hidden';
  else if (e.kind === 'edited' && typeof e.data?.public_description === 'string') key = 'edited.public_text';
  // The reporter's answer (回访) reads as one line with the reporter's words: "上报人回访：未解决 —— …".
  else if (e.kind === 'feedback') {
    const said = sentences[e.data?.solved === false ? 'feedback.unsolved' : 'feedback.solved'] ?? pick(d.events, e.kind);
    return e.note ? `${said}${d.noteDash}${e.note}` : said;
  }
  else if (system) key = `${e.kind}.system`;
  let text = sentences[key] ?? sentences[e.kind] ?? pick(d.events, e.kind);
  // Who it went to, and who did it (names are for staff only; the server sends none to others).
  if ((e.kind === 'dispatched' || e.kind === 'escalated') && e.assignee_name) text += d.comma + d.eventAssignee(e.assignee_name);
  if (e.kind === 'dispatched' && typeof e.data?.deadline === 'string') text += d.comma + d.eventDeadline(formatTime(e.data.deadline));
  if (key === 'edited.public_text') text += `「${String(e.data?.public_description)}」`;
  if (e.actor_name) text = d.eventBy(e.actor_name) + text;
  return text;
}

export function HistoryList({ events, staff }: { events: HistoryEvent[]; staff: boolean }) {
  return (
    <ol class="history">
      {events.map((e) => {
        const from = typeof e.data?.from === 'string' ? e.data.from : null;
        const to = typeof e.data?.to === 'string' ? e.data.to : null;
        // A system event's note is the server's own record (bilingual, or the importer's): the
        // sentence says what happened in the page's language.
        const showNote = e.note && e.actor && !(staff && e.kind === 'feedback');
        return (
          <li key={e.seq} class={`ev ev-${e.kind}`}>
            <span class="ev-kind">{eventSentence(e, staff)}</span>
            <time dateTime={e.at}>{formatTime(e.at)}</time>
            {from && to && <span class="ev-move">{`${statusName(from)} → ${statusName(to)}`}</span>}
            {staff && e.kind === 'created' && <Capture data={e.data} />}
            {showNote && <div class="ev-note">{e.note}</div>}
            {staff && e.photos?.length ? <PhotoStrip ids={e.photos} /> : null}
          </li>
        );
      })}
    </ol>
  );
}

/**
 * When the phone captured a report and how precise its position was (staff only), beside the
 * event's own time, which is when the server received it: a report queued offline arrives later.
 */
function Capture({ data }: { data: HistoryEvent['data'] }) {
  const d = t();
  const at = typeof data?.captured_at === 'string' ? data.captured_at : null;
  const acc = typeof data?.accuracy_m === 'number' ? data.accuracy_m : null;
  if (at === null && acc === null) return null;
  const parts = [at ? d.capturedAt(formatTime(at)) : null, acc !== null ? d.accuracy(Math.round(acc)) : null].filter(Boolean);
  return <span class="ev-capture muted">{parts.join(d.comma)}</span>;
}
