// A patrol (巡查) in progress on the chief's phone: started with "开始巡查", the phone records its
// track with `navigator.geolocation.watchPosition` — thinned here, so a walk of hours is a few
// thousand positions — and sends it in chunks; "已检查，无问题" marks a zone checked clean; "结束巡查"
// ends it. Every write goes through the outbox (its item id is the write's `Idempotency-Key`),
// so a patrol walked without signal arrives whole when the signal is back. The patrol in progress
// is kept in localStorage: a reload, or the browser killing the page, does not end it.
//
// Positions are WGS-84 `[lon, lat]`, as the W3C Geolocation API gives them.

import { computed, signal } from '@preact/signals';
import type { CheckInIn, TrackPointIn } from './api';
import { metresBetween } from './caseinfo';
import { t } from './i18n';
import { enqueue, newItemId } from './outbox';

/** Fixes less accurate than this (radius, metres) are dropped: indoors or under tall buildings a
 * phone reports 100 m and more, which says nothing of which side of a road was walked. */
export const MAX_FIX_ACCURACY_M = 50;
/** A fix is kept once the chief moved this far from the last kept one: a standing phone's fixes
 * wander a few metres; 10 m keeps a street walk's shape at a tenth of the fixes. */
export const MIN_MOVE_M = 10;
/** …or once this long passed (seconds): a chief standing at a school gate still leaves a trace. */
export const MIN_INTERVAL_S = 30;
/** Fixes per chunk sent while walking (about 300 m): the track reaches the server every few
 * minutes, so a lost or flat phone loses little, and one send stays small. */
export const CHUNK_FIXES = 30;
/** Geolocation for a patrol: the best fix the phone can give; one up to 5 s old (the phone
 * often holds one from the map) starts the track at once instead of after the next fix. */
const WATCH_OPTIONS: PositionOptions = { enableHighAccuracy: true, maximumAge: 5_000, timeout: 30_000 };
const STORE_KEY = 'civmap.patrol';

/** The patrol in progress, as kept on the phone. */
export interface PatrolState {
  /** The patrol's id (made here: a patrol may start without signal). */
  id: string;
  /** The account that walks it (another account signing in here does not continue it). */
  user: string;
  startedAt: string;
  /** The kept fixes, oldest first. */
  fixes: TrackPointIn[];
  /** How many of `fixes` are already queued to be sent. */
  queued: number;
  /** Zones marked "已检查，无问题" on this patrol. */
  checked: string[];
}

function load(): PatrolState | null {
  try {
    const raw = localStorage.getItem(STORE_KEY);
    return raw ? (JSON.parse(raw) as PatrolState) : null;
  } catch {
    return null;
  }
}

/** The patrol in progress on this phone, or `null`. */
export const patrol = signal<PatrolState | null>(load());
/** Why positions cannot be had (permission refused, no fix), or `null`. */
export const patrolGeoError = signal<GeolocationPositionError | null>(null);

/** Metres walked so far: the kept fixes joined. */
export const walkedM = computed(() => {
  const f = patrol.value?.fixes ?? [];
  let m = 0;
  for (let i = 1; i < f.length; i++) m += metresBetween([f[i - 1]!.lon, f[i - 1]!.lat], [f[i]!.lon, f[i]!.lat]);
  return m;
});

function save(p: PatrolState | null): void {
  patrol.value = p;
  try {
    if (p) localStorage.setItem(STORE_KEY, JSON.stringify(p));
    else localStorage.removeItem(STORE_KEY);
  } catch {
    // A full or forbidden storage: the patrol goes on in memory.
  }
}

/** Whether `next` is kept after `last` (the thinning rule above). */
export function keepFix(last: TrackPointIn | undefined, next: TrackPointIn): boolean {
  if (next.accuracy_m > MAX_FIX_ACCURACY_M) return false;
  if (!last) return true;
  const moved = metresBetween([last.lon, last.lat], [next.lon, next.lat]);
  const waited = (Date.parse(next.at) - Date.parse(last.at)) / 1000;
  return moved >= MIN_MOVE_M || waited >= MIN_INTERVAL_S;
}

let watch: number | null = null;

function onPosition(pos: GeolocationPosition): void {
  const p = patrol.value;
  if (!p) return;
  patrolGeoError.value = null;
  const fix: TrackPointIn = {
    lon: pos.coords.longitude,
    lat: pos.coords.latitude,
    at: new Date(pos.timestamp).toISOString(),
    accuracy_m: Math.max(0, pos.coords.accuracy),
  };
  if (!keepFix(p.fixes[p.fixes.length - 1], fix)) return;
  const next = { ...p, fixes: [...p.fixes, fix] };
  save(next);
  if (next.fixes.length - next.queued >= CHUNK_FIXES) void queueChunk();
}

/** Records positions while a patrol is in progress (after a reload too). Idempotent. */
export function resumeWatch(): void {
  if (watch !== null || !patrol.value || !('geolocation' in navigator)) return;
  watch = navigator.geolocation.watchPosition(onPosition, (e) => (patrolGeoError.value = e), WATCH_OPTIONS);
}

function stopWatch(): void {
  if (watch !== null) navigator.geolocation.clearWatch(watch);
  watch = null;
}

/** Queues the fixes not yet queued as one chunk of the track. */
async function queueChunk(): Promise<void> {
  const p = patrol.value;
  if (!p || p.fixes.length <= p.queued) return;
  const points = p.fixes.slice(p.queued);
  save({ ...p, queued: p.fixes.length });
  await enqueue({ id: newItemId(), label: t().patrol.fixes(points.length), write: { kind: 'patrol-track', patrol: p.id, points } });
}

/** "开始巡查": a new patrol of `user`, sent at once or when the signal is back. */
export async function beginPatrol(user: string, label: string): Promise<void> {
  const p: PatrolState = { id: newItemId(), user, startedAt: new Date().toISOString(), fixes: [], queued: 0, checked: [] };
  save(p);
  resumeWatch();
  await enqueue({ id: newItemId(), label, write: { kind: 'patrol-start', patrol: p.id, startedAt: p.startedAt } });
}

/** "结束巡查": the last positions and the end, queued; the phone forgets the patrol. */
export async function finishPatrol(label: string): Promise<void> {
  const p = patrol.value;
  if (!p) return;
  stopWatch();
  const points = p.fixes.slice(p.queued);
  save(null);
  await enqueue({ id: newItemId(), label, write: { kind: 'patrol-end', patrol: p.id, points, endedAt: new Date().toISOString() } });
}

/**
 * "已检查，无问题" for `zone`: during the patrol in progress when there is one, else on its own
 * (from a point code). The photo, if any, is already shrunk (PhotoPicker).
 */
export async function markClean(zone: string, label: string, photo: Blob | null, at: [number, number] | null): Promise<void> {
  const p = patrol.value;
  const body: CheckInIn = { zone, at: new Date().toISOString() };
  if (p) {
    body.patrol = p.id;
    save({ ...p, checked: [...new Set([...p.checked, zone])] });
  }
  if (at) body.location = at;
  const id = newItemId();
  body.id = id;
  await enqueue({ id, label, photo, write: { kind: 'check-in', body } });
}
