// Category colours and names. The built-in categories get fixed, mutually distinguishable colours (fire
// risks in reds, vehicles in blues, litter in greens/olives); categories a street office adds in
// `data/categories.toml` get a stable colour derived from their code.

import type { ExpressionSpecification } from 'maplibre-gl';
import type { Category, ProblemFeature } from './api';
import { lang } from './i18n';

const FIXED: Record<string, string> = {
  flying_wire_charging: '#d62728',
  blocked_fire_lane: '#8c1010',
  stairwell_clutter: '#8c564b',
  clutter: '#ff7f0e',
  street_vending: '#e8a200',
  illegal_parking: '#1f77b4',
  zombie_car: '#2b2f7a',
  misparked_bikes: '#17becf',
  abandoned_bikes: '#6b6ecf',
  shared_bike_pile: '#0f8b8d',
  garbage: '#9a9b13',
  greenbelt_litter: '#2ca02c',
  ad_posters: '#e377c2',
  illegal_billboard: '#b0306b',
  illegal_construction: '#6f6f6f',
  dog_nuisance: '#9467bd',
};

/** A stable colour for a category code: fixed for built-in ones, hashed for others. */
export function categoryColor(code: string): string {
  const fixed = FIXED[code];
  if (fixed) return fixed;
  let h = 2166136261;
  for (let i = 0; i < code.length; i++) {
    h ^= code.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  const hue = (h >>> 0) % 360;
  return `hsl(${hue}, 62%, 42%)`;
}

/** A MapLibre `match` expression colouring features by their `category` property. */
export function categoryColorExpression(cats: Category[]): ExpressionSpecification {
  if (cats.length === 0) return ['literal', '#555555'] as unknown as ExpressionSpecification;
  const pairs: string[] = [];
  for (const c of cats) pairs.push(c.code, categoryColor(c.code));
  return ['match', ['get', 'category'], ...pairs, '#555555'] as unknown as ExpressionSpecification;
}

/** A category's name in the current language. */
export function categoryName(c: Pick<Category, 'zh' | 'en'>): string {
  return lang() === 'zh' ? c.zh : c.en;
}

/** The category label of a problem in the current language (from the table, else the problem's own names). */
export function problemCategory(f: ProblemFeature, cats: Category[]): string {
  const c = cats.find((x) => x.code === f.properties.category);
  if (c) return categoryName(c);
  return lang() === 'zh' ? f.properties.category_name : f.properties.category_name_en;
}

/** Fill colours of three-surroundings zones by the kind of place they surround. */
export const ZONE_COLORS: Record<string, string> = {
  school: '#2563eb',
  park: '#16a34a',
  market: '#ea580c',
};

/** Severity factor of the heat weight (a critical problem counts twice an ordinary one). */
export const SEVERITY_FACTOR: Record<string, number> = {
  low: 0.5,
  medium: 1,
  high: 1.5,
  critical: 2,
};
