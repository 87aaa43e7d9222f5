// The interface language: Chinese by default, English on request. The choice comes from the URL
// (`lang=en`), else from localStorage, else Chinese; it is written back to both so a shared link
// opens in the sender's language. The texts are in `dict.ts`, the one dictionary.

import { signal } from '@preact/signals';
import { readHash } from '../url';
import { DICTS } from './dict';
import type { Dict } from './dict';

export type { Dict } from './dict';
export type Lang = keyof typeof DICTS;

const STORAGE_KEY = 'civmap.lang';

function initialLang(): Lang {
  const fromUrl = readHash().params.get('lang');
  if (fromUrl === 'en' || fromUrl === 'zh') return fromUrl;
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === 'en' || stored === 'zh') return stored;
  } catch {
    // Storage may be disabled (private mode); Chinese it is.
  }
  return 'zh';
}

/** The current language; components that read it re-render when it changes. */
export const language = signal<Lang>(initialLang());

/** The current interface language. */
export function lang(): Lang {
  return language.value;
}

/** Switches the language and remembers it. */
export function setLang(l: Lang): void {
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  try {
    localStorage.setItem(STORAGE_KEY, l);
  } catch {
    // Not fatal: the URL keeps the choice.
  }
  language.value = l;
}

/** The dictionary of the current language. */
export function t(): Dict {
  return DICTS[language.value];
}

/** `table[key]`, else the key itself (a code the dictionary does not know yet). */
export function pick(table: Record<string, string>, key: string): string {
  return table[key] ?? key;
}

/** A status code (`dispatched`) in the current language. */
export const statusName = (code: string): string => pick(t().statuses, code);
/** A severity code (`high`) in the current language. */
export const severityName = (code: string): string => pick(t().severities, code);
/** A lifecycle action (`verify`) in the current language. */
export const actionName = (code: string): string => pick(t().actions, code);
/** A role (`road_chief`) in the current language. */
export const roleName = (code: string): string => pick(t().roles, code);

/** All status codes in lifecycle order. */
export const STATUSES = ['reported', 'dispatched', 'escalated', 'rectified', 'closed', 'recurred', 'merged'] as const;

/** All severity codes, lowest first. */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

/** Every date and time a person reads is China Standard Time, whatever the device's zone. */
const TIME_ZONE = 'Asia/Shanghai';

/** A date-time in China Standard Time, short form, in the current language. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB', {
    timeZone: TIME_ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** China Standard Time's offset from UTC, ms (no daylight saving: shift and read the UTC fields). */
export const CST_OFFSET_MS = 8 * 3_600_000;

/** `2026-12-07`: the day in China Standard Time of the instant `ms`, as the API reads a date. */
export function cstDay(ms: number): string {
  return new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 10);
}

/**
 * `2026-12-07 14:30`: a date-time in China Standard Time as tables and their spreadsheets give
 * it (the same in every language, so a row reads as its CSV line).
 */
export function formatCst(iso: string | null | undefined): string {
  if (!iso) return '—';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * The calendar days (China Standard Time) of a period `[from, to)`: its first day and its last
 * day inclusive — a week from Monday 00:00 to the next Monday 00:00 reads Monday – Sunday, as the
 * printed report and the spreadsheet give it.
 */
export function formatDays(from: string, to: string): string {
  const day = (ms: number) =>
    new Date(ms).toLocaleDateString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });
  const a = Date.parse(from);
  const b = Date.parse(to);
  if (Number.isNaN(a) || Number.isNaN(b)) return `${from} – ${to}`;
  return `${day(a)} – ${day(b - 1)}`;
}
