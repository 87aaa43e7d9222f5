// What a failed request says to a person, in the interface language: the API error table of the
// dictionary (`errors`), looked up by code, then refined by field and by the form's context.
// In Chinese no English text of the server reaches the screen; the server's own message is kept
// for the element's `title` (a detail for whoever asks) and is shown as it is only in English
// when the table has nothing better.

import { ApiError, NetworkError } from '../api/client';
import { lang, t } from './index';
import type { Dict, ErrorArgs, ErrorMsg } from './dict';

/**
 * Every error `code` the API answers (`ErrorDetail.code` in the OpenAPI document, and the
 * sign-in's `login_locked`), with what this page adds: no answer (`network`), a non-JSON error
 * answer (`http`), an unreadable success (`parse`), anything else (`unknown`).
 */
export const ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'conflict',
  'payload_too_large',
  'uri_too_long',
  'unsupported_media_type',
  'invalid',
  'idempotency_key_reused',
  'idempotency_in_progress',
  'rate_limited',
  'login_locked',
  'unavailable',
  'internal',
  'network',
  'http',
  'parse',
  'unknown',
] as const;

/** Fails the type-check when the dictionary's error table lacks a code. */
type MissingCodes = Exclude<(typeof ERROR_CODES)[number], keyof Dict['errors']>;
const complete: [MissingCodes] extends [never] ? true : MissingCodes = true;
void complete;

/** The server's default `limits.photo_bytes`, MB: used when its 413 message names no limit. */
const DEFAULT_PHOTO_LIMIT_MB = 10;

/** The byte limit a 413 message names ("... at most 10485760 bytes"), in MB. */
function limitMb(message: string): number {
  const m = /(\d{4,})\s*bytes/.exec(message);
  return m ? Math.round(Number(m[1]) / (1024 * 1024)) : DEFAULT_PHOTO_LIMIT_MB;
}

function render(msg: ErrorMsg, args: ErrorArgs): string {
  return typeof msg === 'function' ? msg(args) : msg;
}

/**
 * The message for an error of a request (or anything thrown while making one). `context` names
 * the form when the same field means something else there: `signin`, `reject`.
 */
export function errorText(e: unknown, context: string | null = null): string {
  const table = t().errors as Record<string, ErrorMsg>;
  if (e instanceof NetworkError) return render(table.network!, { status: 0, retryAfterS: null, limitMb: 0, stops: 0, needMinutes: 0, needTeams: 0 });
  if (!(e instanceof ApiError)) return render(table.unknown!, { status: 0, retryAfterS: null, limitMb: 0, stops: 0, needMinutes: 0, needTeams: 0 });
  const args: ErrorArgs = { status: e.status, retryAfterS: e.retryAfterS, limitMb: limitMb(e.message), stops: e.stops.length, needMinutes: e.suggest.budgetMin ?? 0, needTeams: e.suggest.teams ?? 0 };
  // A 403 about the CSRF header is a session that went stale, not a role that may not.
  const code = e.code === 'forbidden' && /csrf/i.test(e.message) ? 'forbidden.csrf' : e.code;
  // `photos[0]` and `filter.category` are about `photos` and `filter` when nothing names them exactly.
  const head = e.field?.replace(/\[.*$/, '').split('.')[0] ?? null;
  const keys = [
    e.field && context ? `${code}.${e.field}.${context}` : null,
    context ? `${code}.${context}` : null,
    e.field ? `${code}.${e.field}` : null,
    head ? `${code}.${head}` : null,
    code,
  ];
  for (const k of keys) {
    const msg = k ? table[k] : undefined;
    if (msg !== undefined) return render(msg, args);
  }
  // A code this page does not know: the server's words in English, a generic sentence in Chinese.
  return lang() === 'en' ? e.message : render(table.http!, args);
}

/** The server's own words for an error, for a `title` (never the visible text in Chinese). */
export function errorDetail(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A geolocation failure in the interface language (the browser's own message is English). */
export function geolocationText(err: GeolocationPositionError): string {
  const g = t().geo;
  if (err.code === err.PERMISSION_DENIED) return g.denied;
  if (err.code === err.TIMEOUT) return g.timeout;
  return g.unavailable;
}
