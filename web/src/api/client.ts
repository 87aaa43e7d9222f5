// The one function every request of the page goes through: `request()`. It sends JSON or raw
// bytes, answers JSON, a Blob or text, carries the session's CSRF token on every change, and
// turns every failure into one of two errors: `ApiError` (the server answered, with its
// `{"error": {status, code, message, field}}` body and `Retry-After`) or `NetworkError` (no answer).
//
// Browsers sign in with `POST /api/v1/login`: the server sets an HttpOnly session cookie and
// answers a CSRF token, which every change must repeat in `X-CSRF-Token`. Only requests made with
// `auth: true` carry the cookie (`credentials: 'same-origin'`); public views send
// `credentials: 'omit'`, so they keep showing what the public sees while someone is signed in.

import { answered, unreachable } from '../connection';

/** An error answered by the server. */
export class ApiError extends Error {
  readonly status: number;
  /** The API's stable code (`invalid`, `login_locked`...), `http` for a non-JSON error answer, `parse` for an unreadable success. */
  readonly code: string;
  /** The request field the error is about (`note`, `photos`, `lat`...), when the server named one. */
  readonly field: string | null;
  /** `Retry-After` in seconds (429, 503), when sent. */
  readonly retryAfterS: number | null;
  /** For 409 on a stale version: the current one. */
  readonly currentVersion: number | null;
  /** Problem ids an infeasible route plan names (`error.stops`). */
  readonly stops: string[];
  /** What would fit an infeasible route plan (`error.suggest`): minutes per team, about how many teams. */
  readonly suggest: { budgetMin: number | null; teams: number | null };

  constructor(
    status: number,
    code: string,
    message: string,
    extra: {
      field?: string | null;
      retryAfterS?: number | null;
      currentVersion?: number | null;
      stops?: string[];
      suggest?: { budgetMin: number | null; teams: number | null };
    } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = extra.field ?? null;
    this.retryAfterS = extra.retryAfterS ?? null;
    this.currentVersion = extra.currentVersion ?? null;
    this.stops = extra.stops ?? [];
    this.suggest = extra.suggest ?? { budgetMin: null, teams: null };
  }
}

/** The server could not be reached (offline, stopped, DNS...): no answer at all. */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'NetworkError';
  }
}

/** Whether `e` is an aborted request (a view left, a newer load replaced it): never shown. */
export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}

// ---- the session's CSRF token and the "signed in here" hint ---------------------------------

const CSRF_KEY = 'civmap.csrf';
/** Set while this browser has signed in with a password (the cookie itself is unreadable). */
const HINT_KEY = 'civmap.session';
const memory: { csrf: string | null; hint: boolean } = { csrf: null, hint: false };

function stored(storage: () => Storage, key: string): string | null {
  try {
    return storage().getItem(key);
  } catch {
    return null;
  }
}

function store(storage: () => Storage, key: string, v: string | null): void {
  try {
    if (v) storage().setItem(key, v);
    else storage().removeItem(key);
  } catch {
    // Storage disabled (private mode): kept in memory for the page's life.
  }
}

/** The CSRF token of this tab's session, if signed in. */
export function csrfToken(): string | null {
  return stored(() => sessionStorage, CSRF_KEY) ?? memory.csrf;
}

/** Keeps (or with `null` forgets) the session's CSRF token. */
export function setCsrf(v: string | null): void {
  store(() => sessionStorage, CSRF_KEY, v);
  memory.csrf = v;
}

/**
 * Whether this browser may hold a session cookie: signed in here and not signed out since.
 * The page asks `GET /api/v1/me` only then, so a visitor never causes a 401.
 */
export function maybeSignedIn(): boolean {
  return stored(() => localStorage, HINT_KEY) === '1' || memory.hint;
}

export function setSignedInHint(v: boolean): void {
  store(() => localStorage, HINT_KEY, v ? '1' : null);
  memory.hint = v;
}

let sessionLost: (() => void) | null = null;

/** Calls `f` when a request made with the session answers 401: the session expired or was ended. */
export function onSessionLost(f: () => void): void {
  sessionLost = f;
}

// ---- request ----------------------------------------------------------------------------------

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestOptions {
  method?: Method;
  /** A JSON body (sent as `application/json`). */
  json?: unknown;
  /** Raw bytes (a photo). */
  body?: Blob;
  /** Send the session cookie (staff views); public views do not, so they show what the public sees. */
  auth?: boolean;
  signal?: AbortSignal | undefined;
  /** What to read from a successful answer: JSON (default), a Blob (GPX, a photo, CSV) or text. */
  as?: 'json' | 'blob' | 'text';
  /** The `Accept` header (default: JSON and GeoJSON; anything for a Blob). */
  accept?: string;
  /**
   * A write's `Idempotency-Key` (a client-made id): the server answers a repeated send with the
   * first answer instead of doing it again (the outbox resends after a lost connection).
   */
  idempotencyKey?: string;
}

/**
 * The header the service worker (vite.config.mjs) puts on an answer it took from its cache
 * because the network failed: the page is shown the last data it saw, and knows the server is
 * not there.
 */
export const FROM_CACHE_HEADER = 'x-civmap-from-cache';

const READS = new Set<Method>(['GET']);

/** The most reads remembered for `readsMade`. */
const MAX_READS_KEPT = 200;
const reads = new Set<string>();

/**
 * The paths of the successful reads this page made, oldest first: the field app asks them again
 * once its service worker is in control, so that they open without a network (`offline.ts`).
 */
export function readsMade(): string[] {
  return [...reads];
}

/** `error.suggest` of an infeasible route plan, if the server sent one. */
function suggestOf(v: unknown): { budgetMin: number | null; teams: number | null } {
  const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  return { budgetMin: num(o.budget_min), teams: num(o.teams) };
}

/** Reads the server's error body (or makes one from the status line). */
async function toApiError(resp: Response): Promise<ApiError> {
  let err: Record<string, unknown> | undefined;
  try {
    err = ((await resp.json()) as { error?: Record<string, unknown> } | null)?.error;
  } catch {
    err = undefined;
  }
  const retry = Number(resp.headers.get('Retry-After'));
  return new ApiError(
    resp.status,
    typeof err?.code === 'string' ? err.code : 'http',
    typeof err?.message === 'string' ? err.message : `${resp.status} ${resp.statusText}`,
    {
      field: typeof err?.field === 'string' ? err.field : null,
      retryAfterS: Number.isFinite(retry) && retry > 0 ? retry : null,
      currentVersion: typeof err?.current_version === 'number' ? err.current_version : null,
      stops: Array.isArray(err?.stops) ? err.stops.filter((s): s is string => typeof s === 'string') : [],
      suggest: suggestOf(err?.suggest),
    },
  );
}

/** Calls the API: JSON (default) or raw bytes in, JSON, a Blob or text out. */
export async function request<T>(path: string, opts?: RequestOptions & { as?: 'json' }): Promise<T>;
export async function request(path: string, opts: RequestOptions & { as: 'blob' }): Promise<Blob>;
export async function request(path: string, opts: RequestOptions & { as: 'text' }): Promise<string>;
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T | Blob | string> {
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = { Accept: opts.accept ?? (opts.as === 'blob' ? '*/*' : 'application/json, application/geo+json') };
  let body: BodyInit | undefined;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.body) {
    headers['Content-Type'] = opts.body.type || 'application/octet-stream';
    body = opts.body;
  }
  if (opts.auth && !READS.has(method) && path !== LOGIN_PATH) {
    // A change made with the session cookie carries the session's CSRF token; after a reload
    // the tab asks the server for it once.
    if (csrfToken() === null && maybeSignedIn()) await refreshCsrf();
    const c = csrfToken();
    if (c) headers['X-CSRF-Token'] = c;
  }
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
  let resp: Response;
  try {
    resp = await fetch(path, { method, headers, body, signal: opts.signal ?? null, credentials: opts.auth ? 'same-origin' : 'omit' });
  } catch (e) {
    if (isAbort(e)) throw e;
    unreachable();
    throw new NetworkError(e);
  }
  if (resp.headers.has(FROM_CACHE_HEADER)) unreachable();
  else answered();
  if (!resp.ok) {
    if (resp.status === 401 && opts.auth && path !== LOGIN_PATH && path !== ME_PATH) {
      setCsrf(null);
      setSignedInHint(false);
      sessionLost?.();
    }
    throw await toApiError(resp);
  }
  if (method === 'GET' && reads.size < MAX_READS_KEPT) reads.add(path);
  if (opts.as === 'blob') return resp.blob();
  if (opts.as === 'text') return resp.text();
  if (resp.status === 204) return undefined as T;
  const text = await resp.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(resp.status, 'parse', 'the server answered something that is not JSON');
  }
}

const LOGIN_PATH = '/api/v1/login';
const ME_PATH = '/api/v1/me';

/** Asks the server for the session's CSRF token (after a reload); forgets the hint on a 401. */
async function refreshCsrf(): Promise<void> {
  try {
    const me = await request<{ csrf_token?: string | null }>(ME_PATH, { auth: true });
    setCsrf(me.csrf_token ?? null);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) setSignedInHint(false);
  }
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
