// Patrols (巡查) over `request()`: a chief's phone starts a patrol, sends its track in chunks,
// marks zones "checked, clean" (已检查，无问题) and ends the patrol; the street office reads the
// patrols and the figures per zone and week. Staff only: every call carries the session. Writes
// from the outbox carry its item's id as `Idempotency-Key`.

import { query, request } from './client';
import type { CheckInIn, CheckInOut, CoverageOut, PatrolOut, StartIn, TrackPointIn } from './types';

const id = (s: string) => encodeURIComponent(s);
const key = (k?: string) => (k ? { idempotencyKey: k } : {});

export const startPatrol = (body: StartIn, idempotencyKey?: string) =>
  request<PatrolOut>('/api/v1/patrols', { method: 'POST', json: body, auth: true, ...key(idempotencyKey) });

export const appendTrack = (pid: string, points: TrackPointIn[], idempotencyKey?: string) =>
  request<PatrolOut>(`/api/v1/patrols/${id(pid)}/track`, { method: 'POST', json: { points }, auth: true, ...key(idempotencyKey) });

export const endPatrol = (pid: string, points: TrackPointIn[], endedAt: string, idempotencyKey?: string) =>
  request<PatrolOut>(`/api/v1/patrols/${id(pid)}/end`, { method: 'POST', json: { points, ended_at: endedAt }, auth: true, ...key(idempotencyKey) });

export const checkIn = (body: CheckInIn, idempotencyKey?: string) =>
  request<CheckInOut>('/api/v1/check-ins', { method: 'POST', json: body, auth: true, ...key(idempotencyKey) });

/** The patrols of a week (any day of it, `YYYY-MM-DD`; default this week). */
export const patrols = (week?: string) => request<PatrolOut[]>(`/api/v1/patrols${query({ week })}`, { auth: true });

/** The street's figures per zone for a week, and which zones nobody visited. */
export const patrolCoverage = (week?: string) => request<CoverageOut>(`/api/v1/patrol-coverage${query({ week })}`, { auth: true });
