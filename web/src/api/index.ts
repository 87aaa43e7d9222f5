// The civmap HTTP API as the front end uses it: typed calls over `request()` (client.ts), with
// types derived from the OpenAPI document (types.ts), and discovery of the optional endpoints
// (heat cells, rankings, photos, basemap, tiles) from that document so the page never probes for
// them with requests that fail.
//
// Every position is WGS-84, `[lon, lat]` (RFC 7946); the server's default `crs=wgs84` is used.

import type { Geometry } from 'geojson';
import { query, request } from './client';
import type {
  Action,
  Assessment,
  Assignment,
  Chief,
  CoverageCheck,
  PoiFeature,
  ZoneIn,
  Category,
  History,
  Inbox,
  InboxList,
  MyFeedback,
  NewProblem,
  PhotoOut,
  ProblemFeature,
  ProblemFilter,
  ProblemPage,
  PublicTextBody,
  ProblemTable,
  Ranking,
  RoutePlan,
  RouteRequest,
  TransitionBody,
  ZoneFeature,
  ZonePage,
} from './types';

export { ApiError, NetworkError, isAbort, query, request } from './client';
export type * from './types';

const id = (s: string) => encodeURIComponent(s);

/**
 * Every problem matching `filter`, following `next` cursors, at most `max` of them. The answer
 * says whether more matched than were fetched.
 */
export async function allProblems(
  filter: ProblemFilter,
  opts: { max?: number; auth?: boolean; signal?: AbortSignal; pageSize?: number } = {},
): Promise<{ features: ProblemFeature[]; truncated: boolean; matched: number | null }> {
  const max = opts.max ?? 20000;
  const features: ProblemFeature[] = [];
  let cursor: string | undefined;
  let matched: number | null = null;
  for (;;) {
    const page = await request<ProblemPage>(`/api/v1/problems${query({ ...filter, limit: Math.min(opts.pageSize ?? 1000, 1000), cursor })}`, {
      auth: opts.auth ?? false,
      signal: opts.signal,
    });
    if (matched === null && typeof page.numberMatched === 'number') matched = page.numberMatched;
    features.push(...page.features);
    if (!page.next) return { features, truncated: false, matched };
    if (features.length >= max) return { features, truncated: true, matched };
    cursor = page.next;
  }
}

export const getProblem = (pid: string, auth: boolean) => request<ProblemFeature>(`/api/v1/problems/${id(pid)}`, { auth });

export const getHistory = (pid: string, auth: boolean) => request<History>(`/api/v1/problems/${id(pid)}/history`, { auth });

export const categories = () => request<Category[]>('/api/v1/categories');

/** Problems in a zone (`limit=1` reads only `numberMatched`). */
export const zoneProblems = (zone: string, params: Record<string, string | number | undefined>) =>
  request<ProblemPage>(`/api/v1/zones/${id(zone)}/problems${query(params)}`);

/** Every zone of the given kinds (`surroundings`, `point`, `road`, `area`, `grid_cell`). */
export async function zones(kind: string, auth = false): Promise<ZoneFeature[]> {
  const out: ZoneFeature[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await request<ZonePage>(`/api/v1/zones${query({ kind, limit: 1000, cursor })}`, { auth });
    out.push(...page.features);
    if (!page.next) break;
    cursor = page.next;
  }
  return out;
}

export const createProblem = (p: NewProblem, auth: boolean, idempotencyKey?: string) =>
  request<ProblemFeature>('/api/v1/problems', { method: 'POST', json: p, auth, ...(idempotencyKey ? { idempotencyKey } : {}) });

/** Uploads one photo (already shrunk); its id goes into `photos` of a report or a step. */
export const uploadPhoto = (photo: Blob, auth: boolean, idempotencyKey?: string) =>
  request<PhotoOut>('/api/v1/photos', { method: 'POST', body: photo, auth, ...(idempotencyKey ? { idempotencyKey } : {}) });

/** A staff photo (`size=thumb`: the 320 px JPEG made at upload) as a Blob. */
export const photoBlob = (photo: string, thumb: boolean) => request(`/api/v1/photos/${id(photo)}${thumb ? '?size=thumb' : ''}`, { auth: true, as: 'blob' });

export const transition = (pid: string, action: Action, body: TransitionBody, idempotencyKey?: string) =>
  request<ProblemFeature>(`/api/v1/problems/${id(pid)}/${action}`, { method: 'POST', json: body, auth: true, ...(idempotencyKey ? { idempotencyKey } : {}) });

/** The street office hides a description from the public, or rewords it (the history records it). */
export const setPublicText = (pid: string, body: PublicTextBody) =>
  request<ProblemFeature>(`/api/v1/problems/${id(pid)}/public-text`, { method: 'POST', json: body, auth: true });

export const reinspect = (pid: string, version: number, result: 'clean' | 'came_back', idempotencyKey?: string) =>
  request<ProblemFeature>(`/api/v1/problems/${id(pid)}/reinspect`, { method: 'POST', json: { version, result }, auth: true, ...(idempotencyKey ? { idempotencyKey } : {}) });

/** The steps the lifecycle allows from each status (mirrors `civmap_domain::status`). */
export const NEXT_ACTIONS: Record<string, Action[]> = {
  // A chief may fix what it finds reported or recurred in its own zone on the spot (当场整改).
  reported: ['dispatch', 'rectify', 'escalate'],
  dispatched: ['rectify', 'escalate'],
  escalated: ['dispatch', 'rectify'],
  rectified: ['verify', 'reject'],
  closed: ['recur'],
  recurred: ['dispatch', 'rectify', 'escalate'],
  merged: [],
};

export const myReports = () => request<ProblemPage>('/api/v1/me/reports', { auth: true });

/** Which of my verified reports wait for my answer (回访), and what I answered. */
export const myFeedback = () => request<MyFeedback[]>('/api/v1/me/feedback', { auth: true });

/** My answer about a verified report of mine: solved or not, and what is still wrong. */
export const sendFeedback = (pid: string, solved: boolean, note: string) =>
  request<ProblemFeature>(`/api/v1/problems/${id(pid)}/feedback`, { method: 'POST', json: { solved, note }, auth: true });

/** One zone (public: its name and kind). */
export const getZone = (zid: string) => request<ZoneFeature>(`/api/v1/zones/${id(zid)}`);

export const inbox = () => request<Inbox>('/api/v1/me/inbox', { auth: true });
/** The next page of an inbox list: the `next` URL the server gave. */
export const inboxPage = (next: string) => request<InboxList>(next, { auth: true });

export const ranking = (params: Record<string, string | number | undefined>) => request<Ranking>(`/api/v1/heat/rankings${query(params)}`);

/** The assessment as JSON, or (`csv`, `html`) as a file to download or open. */
export const assessment = (params: Record<string, string>) => request<Assessment>(`/api/v1/assessment${query(params)}`, { auth: true });
export const assessmentFile = (params: Record<string, string>, format: 'csv' | 'html') =>
  request(`/api/v1/assessment${query({ ...params, format })}`, { auth: true, as: 'blob' });

/** A zone's rectification ledger (整改台账) as CSV, all of it or a period (`from`, `to`: dates in China Standard Time). */
export const zoneLedger = (zone: string, params: Record<string, string>) =>
  request(`/api/v1/zones/${encodeURIComponent(zone)}/ledger${query(params)}`, { auth: true, as: 'blob' });

/** The street office's problem table: filters and sort as `GET /api/v1/problems/table` reads them. */
export type TableParams = Record<string, string | undefined>;
export const TABLE_PATH = '/api/v1/problems/table';
export const problemTable = (params: TableParams, signal?: AbortSignal) => request<ProblemTable>(`${TABLE_PATH}${query(params)}`, { auth: true, signal });
/** The same rows and columns as a spreadsheet (UTF-8 with BOM, opens in Excel). */
export const problemTableCsv = (params: TableParams) => request(`${TABLE_PATH}${query({ ...params, format: 'csv' })}`, { auth: true, as: 'blob' });

export const ROUTES_PATH = '/api/v1/routes';

export const planRoutes = (req: RouteRequest) => request<RoutePlan>(ROUTES_PATH, { method: 'POST', json: req, auth: true });

/** The same plan as GPX (phones, navigation apps) or as the printable HTML sheet; `depart` (`HH:MM`, China Standard Time) sets the sheet's clock times. */
export const routesFile = (req: RouteRequest, format: 'gpx' | 'html', depart?: string) =>
  request(`${ROUTES_PATH}${query({ format, depart })}`, {
    method: 'POST',
    json: req,
    auth: true,
    as: 'blob',
  });

// ---- optional endpoints ------------------------------------------------------------------

let capabilities: Promise<Set<string>> | null = null;

/**
 * The API paths this server declares in `/api/v1/openapi.json` (e.g. `/api/v1/heat/cells`).
 * Fetched once; an unreachable document means "only the core API".
 */
export function apiPaths(): Promise<Set<string>> {
  capabilities ??= request<{ paths?: Record<string, unknown> }>('/api/v1/openapi.json')
    .then((doc) => new Set(Object.keys(doc.paths ?? {})))
    .catch(() => new Set<string>());
  return capabilities;
}

/** Whether the server declares `path`. */
export async function has(path: string): Promise<boolean> {
  return (await apiPaths()).has(path);
}

// ---- setting up a street (zones, places, chiefs, coverage) -----------------------------------

/** The chiefs the signed-in manager may assign (its street's, for a street office with one). */
export const chiefs = () => request<Chief[]>('/api/v1/chiefs', { auth: true });

export const assignments = () => request<Assignment[]>('/api/v1/assignments', { auth: true });

/** The coverage check of the caller's street (its management grid). */
export const coverage = () => request<CoverageCheck>('/api/v1/assignments/coverage', { auth: true });

export const createZone = (z: ZoneIn) => request<ZoneFeature>('/api/v1/zones', { method: 'POST', json: z, auth: true });

export const putZone = (zid: string, z: ZoneIn) => request<ZoneFeature>(`/api/v1/zones/${id(zid)}`, { method: 'PUT', json: z, auth: true });

export const deleteZone = (zid: string) => request<void>(`/api/v1/zones/${id(zid)}`, { method: 'DELETE', auth: true });

/** Adds a school, park or market; the server makes its three-surroundings zone at once. */
export const createPoi = (p: { type: 'Feature'; geometry: Geometry; properties: { kind: string; name: string } }) =>
  request<PoiFeature>('/api/v1/pois', { method: 'POST', json: p, auth: true });

export const assignChief = (zid: string, user: string) => request<void>(`/api/v1/zones/${id(zid)}/assignees/${id(user)}`, { method: 'PUT', auth: true });

export const unassignChief = (zid: string, user: string) => request<void>(`/api/v1/zones/${id(zid)}/assignees/${id(user)}`, { method: 'DELETE', auth: true });
