// The outbox: reports, rectifications, re-inspections, mock-inspection results (模拟测评) and
// patrols (巡查: start, track chunks, end, "已检查，无问题" check-ins) made without a connection (or whose
// send failed for want of one) are kept on the phone, in IndexedDB (through `idb`), with their
// shrunk photo, and sent when the connection returns — on the browser's `online`, when the page
// starts, when it becomes visible again, when the server answers again, and on "立即发送".
//
// Each item has a client-made id that is its writes' `Idempotency-Key` (the photo's is
// `ID:photo`, a report's fix on the spot `ID:rectify`): when a send reached the server but its
// answer was lost, the next send gets the first answer and the server keeps ONE problem.
//
// Nothing is dropped silently. An item the server refuses (409: the problem changed meanwhile;
// any other 4xx) stays, marked, with what the person needs to decide — "该问题已被他人处理：现状态
// 已整改" — until the person discards it. Failures that may pass (no answer, 5xx, 429) leave it
// waiting for the next send.

import { signal } from '@preact/signals';
import { openDB } from 'idb';
import type { DBSchema, IDBPDatabase } from 'idb';
import { ApiError, NetworkError, createProblem, getProblem, reinspect, transition, uploadPhoto } from './api';
import type { NewProblem, OutcomeIn, ProblemFeature } from './api';
import { recordResult } from './api/inspections';
import { appendTrack, checkIn, endPatrol, startPatrol } from './api/patrols';
import type { CheckInIn, TrackPointIn } from './api';
import { reconnects } from './connection';

/** How long one send may take before it counts as "no connection" and the item waits. */
const SEND_TIMEOUT_MS = 30_000;
/** The database and its one store. */
const DB_NAME = 'civmap-outbox';
const STORE = 'items';

/** What an item does when it is sent. */
export type OutboxWrite =
  | { kind: 'report'; body: NewProblem; auth: boolean; fixNote?: string }
  | { kind: 'rectify'; problem: string; version: number; note: string }
  | { kind: 'reinspect'; problem: string; version: number; result: 'clean' | 'came_back' }
  | { kind: 'inspect'; inspection: string; body: OutcomeIn }
  | { kind: 'patrol-start'; patrol: string; startedAt: string }
  | { kind: 'patrol-track'; patrol: string; points: TrackPointIn[] }
  | { kind: 'patrol-end'; patrol: string; points: TrackPointIn[]; endedAt: string }
  | { kind: 'check-in'; body: CheckInIn };

/** Why the server refused an item (kept until the person discards it). */
export interface Refusal {
  status: number;
  code: string;
  message: string;
  field?: string | null;
  /** For a conflict: the problem's status now (`rectified`…), when it could be read. */
  currentStatus?: string | null;
  /** For a conflict: the problem's case number, when it could be read. */
  caseNo?: string | null;
}

export interface OutboxItem {
  /** Client-made; the `Idempotency-Key` of the item's writes. */
  id: string;
  write: OutboxWrite;
  /** What it is, in the words of the page that made it ("上报：乱堆放"). */
  label: string;
  /** When it was made (ISO). */
  createdAt: string;
  /** The shrunk photo, until it is uploaded. */
  photo?: Blob | null;
  /** The uploaded photo's id. */
  photoId?: string | null;
  /** Set when the server refused it: it waits for the person. */
  refused?: Refusal | null;
}

/** An item the server took: what the page shows of it. */
export interface Sent {
  id: string;
  kind: OutboxWrite['kind'];
  label: string;
  /** The problem it made or changed (`null`: an inspection item that passed). */
  feature: ProblemFeature | null;
}

interface OutboxDb extends DBSchema {
  items: { key: string; value: OutboxItem; indexes: { createdAt: string } };
}

/** The items on the phone, oldest first (waiting and refused). */
export const outboxItems = signal<OutboxItem[]>([]);
/** The items sent since the page opened, newest first (the page shows their case numbers). */
export const outboxSent = signal<Sent[]>([]);
/** True while a send runs. */
export const outboxSending = signal(false);
/** Resolves once the items on the phone were read at start. */
let loaded: Promise<void> | null = null;

let dbp: Promise<IDBPDatabase<OutboxDb>> | null = null;
function db(): Promise<IDBPDatabase<OutboxDb>> {
  dbp ??= openDB<OutboxDb>(DB_NAME, 1, {
    upgrade(d) {
      d.createObjectStore(STORE, { keyPath: 'id' }).createIndex('createdAt', 'createdAt');
    },
  });
  return dbp;
}

async function refresh(): Promise<void> {
  outboxItems.value = await (await db()).getAllFromIndex(STORE, 'createdAt');
}

/** A new id for an item (also its writes' `Idempotency-Key`). */
export function newItemId(): string {
  return crypto.randomUUID();
}

/** Whether `e` means "no connection" (no answer, or none in time): the item waits. */
export function isOffline(e: unknown): boolean {
  return e instanceof NetworkError || (e instanceof DOMException && (e.name === 'TimeoutError' || e.name === 'AbortError'));
}

/** Keeps a write on the phone; it is sent at the next chance (and tried now when online). */
export async function enqueue(item: Omit<OutboxItem, 'createdAt'>): Promise<void> {
  await (await db()).put(STORE, { ...item, createdAt: new Date().toISOString() });
  await refresh();
  if (navigator.onLine) void flush();
}

/** Drops an item the person decided not to send. */
export async function discard(id: string): Promise<void> {
  await (await db()).delete(STORE, id);
  await refresh();
}

/** The writes of one item, with its keys. */
async function send(item: OutboxItem): Promise<ProblemFeature | null> {
  const d = await db();
  const w = item.write;
  let photos: string[] = [];
  if (item.photoId) photos = [item.photoId];
  else if (item.photo) {
    const up = await uploadPhoto(item.photo, w.kind === 'report' ? w.auth : true, `${item.id}:photo`);
    photos = [up.id];
    // The upload is kept: a later send does not upload the photo again.
    await d.put(STORE, { ...item, photo: null, photoId: up.id });
  }
  switch (w.kind) {
    case 'report': {
      const created = await createProblem({ ...w.body, ...(photos.length ? { photos } : {}) }, w.auth, item.id);
      if (!w.fixNote) return created;
      // Reported and fixed on the spot: the fix follows with its own key.
      return transition(created.properties.id, 'rectify', { version: created.properties.version, note: w.fixNote, photos }, `${item.id}:rectify`);
    }
    case 'rectify':
      return transition(w.problem, 'rectify', { version: w.version, note: w.note, photos }, item.id);
    case 'reinspect':
      return reinspect(w.problem, w.version, w.result, item.id);
    case 'inspect': {
      // A fail becomes a problem on the server: the page shows its case number.
      const r = await recordResult(w.inspection, { ...w.body, photos }, item.id);
      return r.problem ? getProblem(r.problem, true) : null;
    }
    case 'patrol-start':
      await startPatrol({ id: w.patrol, started_at: w.startedAt }, item.id);
      return null;
    case 'patrol-track':
      await appendTrack(w.patrol, w.points, item.id);
      return null;
    case 'patrol-end':
      await endPatrol(w.patrol, w.points, w.endedAt, item.id);
      return null;
    case 'check-in':
      await checkIn({ ...w.body, ...(photos.length ? { photos } : {}) }, item.id);
      return null;
  }
}

/** What a refusal says; a conflict reads the problem to say what changed. */
async function refusal(item: OutboxItem, e: ApiError): Promise<Refusal> {
  const r: Refusal = { status: e.status, code: e.code, message: e.message, field: e.field };
  const w = item.write;
  if (e.status === 409 && (w.kind === 'rectify' || w.kind === 'reinspect')) {
    try {
      const now = await getProblem(w.problem, true);
      r.currentStatus = now.properties.status;
      r.caseNo = now.properties.case_no ?? null;
    } catch {
      r.currentStatus = null;
    }
  }
  return r;
}

let running: Promise<void> | null = null;

/**
 * Sends every waiting item, oldest first; stops at the first "no connection" (the rest would
 * meet it too). Refused items stay, marked. One run at a time.
 */
export function flush(): Promise<void> {
  running ??= (async () => {
    outboxSending.value = true;
    try {
      const d = await db();
      for (const item of await d.getAllFromIndex(STORE, 'createdAt')) {
        if (item.refused) continue;
        const fresh = await d.get(STORE, item.id);
        if (!fresh) continue;
        try {
          const feature = await withTimeout(send(fresh));
          await d.delete(STORE, item.id);
          outboxSent.value = [{ id: item.id, kind: item.write.kind, label: item.label, feature }, ...outboxSent.value];
        } catch (e) {
          if (isOffline(e)) break;
          if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429 && e.status !== 408) {
            const latest = (await d.get(STORE, item.id)) ?? fresh;
            await d.put(STORE, { ...latest, refused: await refusal(item, e) });
            continue;
          }
          // 5xx, 429, an unreadable answer: the item waits for the next send.
          break;
        } finally {
          await refresh();
        }
      }
    } finally {
      outboxSending.value = false;
      running = null;
    }
  })();
  return running;
}

/** A send that takes longer than `SEND_TIMEOUT_MS` counts as "no connection". */
function withTimeout<T>(p: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = window.setTimeout(() => reject(new DOMException('the send took too long', 'TimeoutError')), SEND_TIMEOUT_MS);
    p.then(
      (v) => {
        window.clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        window.clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Reads the items on the phone and sends them whenever the connection may be back. Once. */
export function startOutbox(): Promise<void> {
  loaded ??= (async () => {
    try {
      await refresh();
    } catch (e) {
      // No IndexedDB (a private window of some browsers): nothing can be queued, nothing waits.
      console.warn('the outbox cannot be opened', e);
      return;
    }
    window.addEventListener('online', () => void flush());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') void flush();
    });
    reconnects.subscribe((n) => {
      if (n > 0) void flush();
    });
    void flush();
  })();
  return loaded;
}
