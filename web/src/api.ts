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
  /** The after-photo of a verified fix, public (`/api/v1/problems/{id}/photo`), when there is one. */
  public_photo?: string;
}

/** A category driving a zone's heat (`CategoryScore` in the OpenAPI document). */
export interface RankingCategory {
  category: string;
  name: string;
  name_en: string;
  count: number;
  weight: number;
  score: number;
}

/**
 * A row of `GET /api/v1/heat/rankings` (`RankingRow` in the OpenAPI document), or of the
 * browser's own count-based ranking when the server has none (then only `zone`, `name`,
 * `count` and `open` are set).
 */
export interface RankingRow {
  zone: string;
  name: string;
  /** Problems reported in the period inside the zone, any status. */
  count: number;
  /** Of those, the open ones. */
  open?: number;
  /** Heat score: summed heat weight of the open ones per hectare. */
  score?: number;
  rank?: number;
  /** `count` over the previous period of equal length. */
  previous_count?: number;
  previous_open?: number;
  previous_score?: number;
  previous_rank?: number;
  /** `score − previous_score`. */
  change?: number;
  change_ratio?: number | null;
  top_categories?: RankingCategory[];
}

/** The answer of `GET /api/v1/heat/rankings`. */
export interface Ranking {
  poi_kind: string;
  order: string;
  period: { from: string; to: string; scored_at: string };
  previous: { from: string; to: string; scored_at: string };
  zones: number;
  items: RankingRow[];
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

// ---- accounts ---------------------------------------------------------------------------
//
// A browser signs in with `POST /api/v1/login`: the server sets an HttpOnly session cookie and
// answers a CSRF token, which every change must repeat in `X-CSRF-Token`. Only requests made
// with `auth: true` carry the cookie (`credentials: 'same-origin'`); public views send
// `credentials: 'omit'`, so they keep showing what the public sees while a chief is signed in.

/** The signed-in caller (`GET /api/v1/me`). */
export interface Me {
  id: string | null;
  name: string;
  display_name: string;
  role: string;
  street: string | null;
  zones: string[];
  /** `cookie`, `token` or `config`. */
  via: string;
  csrf_token: string | null;
  expires_at: string | null;
}

const CSRF_KEY = 'civmap.csrf';
let memoryCsrf: string | null = null;
/** Set while this browser has signed in with a password (the cookie itself is unreadable). */
const SESSION_HINT_KEY = 'civmap.session';
let memoryHint = false;

/**
 * Whether this browser may hold a session cookie: signed in with a password here and not
 * signed out since. Views ask `me()` only then, so a visitor never causes a 401.
 */
export function maybeSignedIn(): boolean {
  try {
    return localStorage.getItem(SESSION_HINT_KEY) === '1' || memoryHint;
  } catch {
    return memoryHint;
  }
}

function setHint(v: boolean): void {
  try {
    if (v) localStorage.setItem(SESSION_HINT_KEY, '1');
    else localStorage.removeItem(SESSION_HINT_KEY);
  } catch {
    // Storage disabled: kept for the page's life.
  }
  memoryHint = v;
}

/** The CSRF token of this tab's session, if signed in with a password. */
export function csrfToken(): string | null {
  try {
    return sessionStorage.getItem(CSRF_KEY) ?? memoryCsrf;
  } catch {
    return memoryCsrf;
  }
}

function setCsrf(v: string | null): void {
  try {
    if (v) sessionStorage.setItem(CSRF_KEY, v);
    else sessionStorage.removeItem(CSRF_KEY);
  } catch {
    // Storage disabled: kept for the page's life.
  }
  memoryCsrf = v;
}

/** Signs in with a name and password; the session lives in an HttpOnly cookie. */
export async function login(name: string, password: string): Promise<Me> {
  const me = await request<Me>('/api/v1/login', { method: 'POST', json: { name, password }, auth: true });
  setCsrf(me.csrf_token);
  setHint(true);
  return me;
}

/** Ends the session (or revokes the account token in use) and forgets the token. */
export async function logout(): Promise<void> {
  try {
    await request<void>('/api/v1/logout', { method: 'POST', auth: true });
  } finally {
    setCsrf(null);
    setHint(false);
    setToken(null);
  }
}

/** Who is signed in (a session cookie or the stored token), or `null`. */
export async function me(): Promise<Me | null> {
  try {
    const m = await request<Me>('/api/v1/me', { auth: true });
    if (m.csrf_token) setCsrf(m.csrf_token);
    return m;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      setCsrf(null);
      setHint(false);
      return null;
    }
    throw e;
  }
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

/** The bearer header of the staff token, when one is set (a session's cookie goes by itself). */
export function tokenHeader(): Record<string, string> {
  const tk = token();
  return tk ? { Authorization: `Bearer ${tk}` } : {};
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
  const method = opts.method ?? 'GET';
  if (opts.auth) {
    const tk = token();
    if (tk) headers.Authorization = `Bearer ${tk}`;
    else if (method !== 'GET' && method !== 'HEAD' && path !== '/api/v1/login') {
      // A change made with the session cookie must carry the session's CSRF token; after a
      // reload the tab asks the server for it once.
      if (csrfToken() === null && maybeSignedIn()) await me().catch(() => null);
      const c = csrfToken();
      if (c) headers['X-CSRF-Token'] = c;
    }
  }
  let resp: Response;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body,
      signal: opts.signal ?? null,
      credentials: opts.auth ? 'same-origin' : 'omit',
    });
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
