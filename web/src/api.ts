// The civmap HTTP API as the front end uses it: typed wrappers over `fetch`, one error type that
// carries the server's `{"error": {status, code, message, field}}` body, and discovery of the
// optional endpoints (heat cells, rankings, photos, basemap, tiles) from the OpenAPI document so
// the page never probes for them with requests that fail.
//
// Every position is WGS-84, `[lon, lat]` (RFC 7946); the server's default `crs=wgs84` is used.

import type { Feature, FeatureCollection, MultiPolygon, Point, Polygon } from 'geojson';

/** Properties of a problem Feature (`ProblemProperties` in the OpenAPI document). */
export interface ProblemProps {
  id: string;
  category: string;
  category_name: string;
  category_name_en: string;
  severity: string;
  status: string;
  open: boolean;
  description: string;
  reported_at: string;
  updated_at: string;
  deadline: string | null;
  overdue: boolean;
  rework_count: number;
  zone: string | null;
  recurrence_of: string | null;
  merged_into: string | null;
  version: number;
  /** Staff only. */
  assignee?: string | null;
  /** Staff only. */
  reporter?: string | null;
  crs: string;
  location_generalised?: boolean;
}

export type ProblemFeature = Feature<Point, ProblemProps>;

/** A page of problems. `next` is the cursor of the following page, absent on the last one. */
export interface ProblemPage extends FeatureCollection<Point, ProblemProps> {
  numberReturned: number;
  numberMatched?: number;
  next?: string;
}

export interface Category {
  code: string;
  zh: string;
  en: string;
  /** Weight of one open problem in heat scores (1 = ordinary). */
  weight: number;
  /** Default rectification deadline, working hours. */
  deadline_hours: number;
  service_minutes: number;
  indoor: boolean;
}

export interface ZoneProps {
  id: string;
  kind: string;
  name: string;
  poi_kind: string | null;
  poi: string | null;
  code: string | null;
  external_id: string | null;
  assignees?: string[];
}

export type ZoneFeature = Feature<Polygon | MultiPolygon, ZoneProps>;

export interface ZonePage extends FeatureCollection<Polygon | MultiPolygon, ZoneProps> {
  next?: string;
}

export interface HistoryEvent {
  seq: number;
  kind: string;
  actor: string | null;
  at: string;
  note: string;
  photos: string[];
  data: Record<string, unknown>;
}

export interface History {
  problem: string;
  events: HistoryEvent[];
}

/** A heat ranking row of the planned `GET /api/v1/heat/rankings`. */
export interface RankingRow {
  zone: string;
  name: string;
  count: number;
  open?: number;
  score?: number;
}

/** An error answered by the server (or a network failure, `status` 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The request field the error is about (`lat`, `category`...), when the server named one. */
  readonly field: string | null;
  /** For 409 on a stale version: the current one. */
  readonly currentVersion: number | null;

  constructor(status: number, code: string, message: string, field: string | null, currentVersion: number | null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.currentVersion = currentVersion;
  }
}

const TOKEN_KEY = 'civmap.token';
/** The token when localStorage is unavailable (private browsing): kept for the page's life. */
let memoryToken: string | null = null;

/** The staff API token of this browser, if one was entered. */
export function token(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? memoryToken;
  } catch {
    return memoryToken;
  }
}

/** Stores (or with `null` forgets) the staff API token. */
export function setToken(v: string | null): void {
  try {
    if (v) localStorage.setItem(TOKEN_KEY, v);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token lives only as long as the page.
  }
  memoryToken = v;
}

interface RequestOptions {
  method?: string;
  /** A JSON body (sent as `application/json`) or raw bytes. */
  json?: unknown;
  body?: Blob;
  /** Send the staff token (staff views); public views never do, so they show what the public sees. */
  auth?: boolean;
  signal?: AbortSignal;
}

/** Calls the API and parses the JSON answer; any non-2xx answer becomes an [`ApiError`]. */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json, application/geo+json' };
  let body: BodyInit | undefined;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.body) {
    headers['Content-Type'] = opts.body.type || 'application/octet-stream';
    body = opts.body;
  }
  if (opts.auth) {
    const tk = token();
    if (tk) headers.Authorization = `Bearer ${tk}`;
  }
  let resp: Response;
  try {
    resp = await fetch(path, { method: opts.method ?? 'GET', headers, body, signal: opts.signal ?? null });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e), null, null);
  }
  if (resp.status === 204) return undefined as T;
  const text = await resp.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!resp.ok) {
    const err = (parsed as { error?: Record<string, unknown> } | null)?.error;
    const message = typeof err?.message === 'string' ? err.message : `${resp.status} ${resp.statusText}`;
    throw new ApiError(
      resp.status,
      typeof err?.code === 'string' ? err.code : 'http',
      message,
      typeof err?.field === 'string' ? err.field : null,
      typeof err?.current_version === 'number' ? err.current_version : null,
    );
  }
  if (parsed === null && text) throw new ApiError(resp.status, 'parse', 'the server answered something that is not JSON', null, null);
  return parsed as T;
}

/** Query-string from a record, leaving out empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString().replace(/%2C/gi, ',');
  return s ? `?${s}` : '';
}

/** List filters of `GET /api/v1/problems`. */
export interface ProblemFilter {
  /** `minLon,minLat,maxLon,maxLat`, degrees. */
  bbox?: string;
  zone?: string;
  /** Category codes, comma-separated. */
  category?: string;
  /** Statuses, comma-separated, or `open`. */
  status?: string;
  /** Reported at or after (RFC 3339 or a date). */
  from?: string;
  to?: string;
}

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
    const page = await request<ProblemPage>(
      `/api/v1/problems${query({ ...filter, limit: Math.min(opts.pageSize ?? 1000, 1000), cursor })}`,
      { auth: opts.auth ?? false, signal: opts.signal },
    );
    if (matched === null && typeof page.numberMatched === 'number') matched = page.numberMatched;
    features.push(...page.features);
    if (!page.next) return { features, truncated: false, matched };
    if (features.length >= max) return { features, truncated: true, matched };
    cursor = page.next;
  }
}

/** One page of problems (staff table). */
export function problemPage(filter: ProblemFilter & { limit?: number; cursor?: string }, auth: boolean): Promise<ProblemPage> {
  return request<ProblemPage>(`/api/v1/problems${query({ ...filter })}`, { auth });
}

export function getProblem(id: string, auth: boolean): Promise<ProblemFeature> {
  return request<ProblemFeature>(`/api/v1/problems/${encodeURIComponent(id)}`, { auth });
}

export function getHistory(id: string, auth: boolean): Promise<History> {
  return request<History>(`/api/v1/problems/${encodeURIComponent(id)}/history`, { auth });
}

export function categories(): Promise<Category[]> {
  return request<Category[]>('/api/v1/categories');
}

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

/** A new report (`POST /api/v1/problems`). */
export interface NewProblem {
  lon: number;
  lat: number;
  category: string;
  severity?: string;
  description?: string;
}

export function createProblem(p: NewProblem, auth: boolean): Promise<ProblemFeature> {
  return request<ProblemFeature>('/api/v1/problems', { method: 'POST', json: p, auth });
}

/** Lifecycle steps, one endpoint each. */
export type Action = 'dispatch' | 'escalate' | 'rectify' | 'reject' | 'verify' | 'recur';

export function transition(
  id: string,
  action: Action,
  body: { version: number; note?: string; photos?: string[] },
): Promise<ProblemFeature> {
  return request<ProblemFeature>(`/api/v1/problems/${encodeURIComponent(id)}/${action}`, {
    method: 'POST',
    json: body,
    auth: true,
  });
}

/** The steps the lifecycle allows from each status (mirrors `civmap_domain::status`). */
export const NEXT_ACTIONS: Record<string, Action[]> = {
  reported: ['dispatch', 'escalate'],
  dispatched: ['rectify', 'escalate'],
  escalated: ['dispatch', 'rectify'],
  rectified: ['verify', 'reject'],
  closed: ['recur'],
  recurred: ['dispatch', 'escalate'],
  merged: [],
};

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
