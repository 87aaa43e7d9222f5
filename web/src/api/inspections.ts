// Mock inspections (模拟测评) over `request()`: checklists, test points, drawing and assigning a
// sample, the inspector's results, readiness and rectification notices. Staff only: every call
// carries the session.

import { query, request } from './client';
import type { ChecklistItem, Checklists, Inspection, InspectionDetail, InspectionResult, NewInspectionIn, NewNoticeIn, Notice, NoticeCheck, OutcomeIn, Readiness, TestPoint } from './types';

const id = (s: string) => encodeURIComponent(s);

export const checklists = () => request<Checklists>('/api/v1/inspections/checklists', { auth: true });

/** Adds or changes a checklist item (the street office's edit overrides the data file's item of that code). */
export const putChecklistItem = (item: ChecklistItem) =>
  request<ChecklistItem>(`/api/v1/inspections/checklists/${id(item.code)}`, { method: 'PUT', json: item, auth: true });

export const testPoints = () => request<TestPoint[]>('/api/v1/test-points', { auth: true });

/** Makes a test point of every three-surroundings zone that has none; answers the points made. */
export const pointsFromSurroundings = () => request<TestPoint[]>('/api/v1/test-points/from-surroundings', { method: 'POST', auth: true });

/** Every inspection for the office, one's own for an inspector; newest first. */
export const inspections = () => request<Inspection[]>('/api/v1/inspections', { auth: true });

export const drawInspection = (body: NewInspectionIn) => request<Inspection>('/api/v1/inspections', { method: 'POST', json: body, auth: true });

export const inspection = (iid: string) => request<InspectionDetail>(`/api/v1/inspections/${id(iid)}`, { auth: true });

export const assignInspection = (iid: string, assignee: string) =>
  request<Inspection>(`/api/v1/inspections/${id(iid)}/assign`, { method: 'POST', json: { assignee }, auth: true });

/** One item's outcome; `idempotencyKey` when it comes from the outbox (sent again, stored once). */
export const recordResult = (iid: string, body: OutcomeIn, idempotencyKey?: string) =>
  request<InspectionResult>(`/api/v1/inspections/${id(iid)}/results`, { method: 'POST', json: body, auth: true, ...(idempotencyKey ? { idempotencyKey } : {}) });

export const finishInspection = (iid: string) => request<Inspection>(`/api/v1/inspections/${id(iid)}/finish`, { method: 'POST', auth: true });

/** Readiness; points not inspected for `days` are listed. */
export const readiness = (days: number) => request<Readiness>(`/api/v1/inspections/readiness${query({ days })}`, { auth: true });

/** Readiness as a spreadsheet or a printable page. */
export const readinessFile = (days: number, format: 'csv' | 'html') =>
  request(`/api/v1/inspections/readiness${query({ days, format })}`, { auth: true, as: 'blob' });

export const notices = () => request<Notice[]>('/api/v1/notices', { auth: true });

export const issueNotice = (body: NewNoticeIn) => request<Notice>('/api/v1/notices', { method: 'POST', json: body, auth: true });

/** Notices whose deadline passed, oldest first, each with whether its problems are rectified. */
export const noticesDue = () => request<NoticeCheck[]>('/api/v1/notices/due', { auth: true });
