// What a person reads to tell one problem from another: its case number (`CM261207-0003`), its
// place ("四平路1239号附近", else coordinates), a short excerpt of its description, its page
// (`/p/{case_no}`) and how far it is from me. The server adds `case_no`, `place`, `zone_name`
// and `assignee_name` to a problem's properties; read here as optional so a server without them
// still gives a readable row.

import type { ProblemFeature } from './api';
import { t } from './i18n';

/** Characters of a description in a task row: a phone line. */
export const EXCERPT_CHARS = 30;

/** The properties the case number and places add (optional on an older server). */
interface CaseProps {
  case_no?: string | null;
  place?: string | null;
  zone_name?: string | null;
  assignee_name?: string | null;
}

function props(f: ProblemFeature): CaseProps {
  return f.properties as CaseProps;
}

/** The case number, or `null` when the server gives none. */
export function caseNo(f: ProblemFeature): string | null {
  return props(f).case_no || null;
}

/** The place in words, else the coordinates. */
export function placeOf(f: ProblemFeature): string {
  const place = props(f).place;
  if (place) return place;
  const [lon = 0, lat = 0] = f.geometry.coordinates;
  return t().grid.at(lon.toFixed(5), lat.toFixed(5));
}

/** The zone and the chief it went to, when the server names them (staff views). */
export function dispatchedTo(f: ProblemFeature): { zone: string | null; assignee: string | null } {
  return { zone: props(f).zone_name || null, assignee: props(f).assignee_name || null };
}

/** The problem's own page: by case number, else by id (the server takes either). */
export function pageHref(f: ProblemFeature): string {
  return `/p/${encodeURIComponent(caseNo(f) ?? f.properties.id)}`;
}

/** The first `EXCERPT_CHARS` characters of the description, with `…` when cut. */
export function excerpt(text: string | null | undefined): string {
  const chars = [...(text ?? '').trim()];
  return chars.length > EXCERPT_CHARS ? `${chars.slice(0, EXCERPT_CHARS).join('')}…` : chars.join('');
}

/** Metres between two WGS-84 positions (haversine; a street is small enough for it). */
export function metresBetween(a: [number, number], b: [number, number]): number {
  const R = 6_371_008.8;
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}
