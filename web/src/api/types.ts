// The API's types, derived from the ones `openapi-typescript` generates from the server's OpenAPI
// document (`schema.d.ts`, `npm run gen:api`). Where the document types a body only as a bare
// Object (GeoJSON the server builds by hand, a plan, a figure set), a narrow hand type says what
// this page reads of it, and the comment on it says why it is by hand.

import type { Feature, FeatureCollection, Geometry, MultiPolygon, Point, Polygon } from 'geojson';
import type { components } from './schema';

type S = components['schemas'];

export type ProblemProps = S['ProblemProperties'];

/**
 * A problem as GeoJSON. The document types the geometry as `{type: string, coordinates:
 * number[]}`; the intersection with RFC 7946's `Feature<Point>` keeps the generated fields and
 * lets MapLibre take the feature as it is.
 */
export type ProblemFeature = S['ProblemFeature'] & Feature<Point, ProblemProps>;

/**
 * A page of problems. `numberMatched` is not in `ProblemCollection` of the document, but the
 * server sends it where it counts the matches (`/api/v1/zones/{id}/problems`, filtered lists).
 */
export type ProblemPage = Omit<S['ProblemCollection'], 'features'> & { features: ProblemFeature[]; numberMatched?: number };

export type Category = S['CategoryOut'];
export type Me = S['Me'];
export type Inbox = S['Inbox'];
export type InboxList = S['InboxList'];
export type InboxItem = S['InboxItem'];
export type MyFeedback = S['MyFeedback'];
export type PhotoOut = S['PhotoOut'];
export type TransitionBody = S['TransitionBody'];
export type PublicTextBody = S['PublicTextBody'];
export type Ranking = S['Ranking'];
export type NewProblem = S['CreateProblem'];
export type ProblemTable = S['ProblemTable'];
export type TableRow = S['TableRowOut'];

/**
 * A row of the surroundings ranking: the server's (`RankingRow`), or the browser's own
 * count-based one when the server has no ranking (then only `zone`, `name`, `count`, `open`).
 */
export type RankingRow = Pick<S['RankingRow'], 'zone' | 'name' | 'count'> & Partial<S['RankingRow']>;

/** A history event. `data` is a bare Object in the document (its keys depend on the kind). */
export type HistoryEvent = Omit<S['EventOut'], 'data'> & { data: Record<string, unknown> };
export type History = Omit<S['History'], 'events'> & { events: HistoryEvent[] };

/**
 * The figures of a group in the assessment. By hand: the document types `current` and
 * `previous` of `AssessmentRow` as bare Objects.
 */
export interface Figures {
  reported: number;
  closed: number;
  due: number;
  closed_on_time: number;
  on_time_rate: number | null;
  rework_rate: number | null;
  recurred: number;
  median_fix_hours: number | null;
  open: number;
  overdue: number;
}
export type AssessmentRow = Omit<S['AssessmentRow'], 'current' | 'previous'> & { current: Figures; previous: Figures };
export type Assessment = Omit<S['Assessment'], 'rows'> & { rows: AssessmentRow[] };

/**
 * A zone as GeoJSON. By hand: `GET /api/v1/zones` answers a bare Object in the document; its
 * features carry `ZoneProps` and the zone's id.
 */
export type ZoneFeature = Feature<Polygon | MultiPolygon, S['ZoneProps'] & { id: string }>;
export interface ZonePage extends FeatureCollection<Polygon | MultiPolygon, ZoneFeature['properties']> {
  features: ZoneFeature[];
  next?: string | null;
}

/** A route plan request (`end`: `"start"`, `"last"` or `[lon, lat]`, typed by the document). */
export type RouteRequest = S['RouteRequest'];

/**
 * The JSON answer of `POST /api/v1/routes` (the parts this page shows). By hand: the document
 * types it as a bare Object.
 */
export interface RoutePlan {
  fallback_straight_line: boolean;
  note: string | null;
  teams: {
    team: number;
    colour: string;
    distance_m: number;
    duration_s: number;
    stops: { seq: number; id: string; category_name: string | null; coordinates: [number, number]; must: boolean }[];
  }[];
  unassigned: { id: string; reason: string }[];
  geojson: FeatureCollection<Geometry, Record<string, unknown>>;
}

/** Lifecycle steps, one endpoint each. */
export type Action = 'dispatch' | 'escalate' | 'rectify' | 'reject' | 'verify' | 'recur';

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

/** A chief account a manager may assign (`GET /api/v1/chiefs`). */
export type Chief = S['ChiefOut'];
/** A chief assigned to a zone (`GET /api/v1/assignments`). */
export type Assignment = S['AssignmentOut'];
/** A zone as sent (`POST`/`PUT /api/v1/zones`). The document types the geometry as a bare Object. */
export type ZoneIn = Omit<S['ZoneIn'], 'geometry'> & { geometry: Geometry };

/**
 * The coverage check (`GET /api/v1/assignments/coverage`). By hand: the document types it as a
 * bare Object. `grid_cells`/`uncovered_cells` are null when the boundary is a zone.
 */
export interface CoverageCheck extends FeatureCollection<Polygon | MultiPolygon, { kind: 'uncovered' | 'overlap'; area_m2: number }> {
  boundary_m2: number;
  uncovered_m2: number;
  covered_share: number;
  overlaps: number;
  grid_cells: number | null;
  uncovered_cells: number | null;
}

/** What `POST /api/v1/pois` answers: the place, with its three-surroundings zone. */
export type PoiFeature = Feature<Geometry, { id: string; kind: string; name: string; surroundings_zone?: string }>;

// ---- mock inspections (模拟测评) --------------------------------------------------------------

export type Checklists = S['ChecklistsOut'];
export type ChecklistItem = S['ItemOut'];
export type NoticeCheck = S['NoticeCheckOut'];
export type TestPoint = S['TestPointOut'];
export type Inspection = S['InspectionOut'];
export type InspectionDetail = S['InspectionDetail'];
export type InspectionResult = S['ResultOut'];
export type OutcomeIn = S['OutcomeIn'];
export type NewInspectionIn = S['NewInspectionIn'];
export type Readiness = S['ReadinessOut'];
export type ScoreOut = S['ScoreOut'];
export type Notice = S['NoticeOut'];
export type NewNoticeIn = S['NewNoticeIn'];

// Patrols (巡查).
export type PatrolOut = S['PatrolOut'];
export type StartIn = S['StartIn'];
export type TrackPointIn = S['TrackPointIn'];
export type CheckInIn = S['CheckInIn'];
export type CheckInOut = S['CheckInOut'];
export type CoverageOut = S['CoverageOut'];
export type ZoneCoverageOut = S['ZoneCoverageOut'];
