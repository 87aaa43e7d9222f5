// A problem's card: category, status, description, case number, place, zone and chief (staff
// views name them), severity and dates. The public map's popup
// and the staff consoles' detail show the same card.

import type { ComponentChildren } from 'preact';
import type { Category, ProblemFeature } from '../api';
import { caseNo, dispatchedTo, pageHref, placeOf } from '../caseinfo';
import { problemCategory } from '../colors';
import { formatTime, t } from '../i18n';
import { OverdueBadge } from './OverdueBadge';
import { SeverityBadge } from './SeverityBadge';
import { StatusBadge } from './StatusBadge';
import { Swatch } from './Swatch';


function Row({ label, children, late = false }: { label: string; children: ComponentChildren; late?: boolean }) {
  return (
    <div class={`kv${late ? ' late' : ''}`}>
      <span class="k">{label}</span>
      <span class="v">{children}</span>
    </div>
  );
}

/**
 * `lead` goes right under the title (what a popup must show even when it is cut short), `children` at the end.
 * `caseRows`: the case number, place, zone and chief as rows (the public popup shows its own in `lead`).
 */
export function ProblemCard({ problem, cats, lead, caseRows = true, children }: { problem: ProblemFeature; cats: Category[]; lead?: ComponentChildren; caseRows?: boolean; children?: ComponentChildren }) {
  const d = t();
  const p = problem.properties;
  const no = caseRows ? caseNo(problem) : null;
  const place = caseRows ? placeOf(problem) : null;
  const to = caseRows ? dispatchedTo(problem) : { zone: null, assignee: null };
  return (
    <div class="problem-card" data-problem={p.id}>
      <div class="card-head">
        <Swatch category={p.category} big />
        <strong class="card-title">{problemCategory(problem, cats)}</strong>
        <StatusBadge status={p.status} />
        {p.overdue && <OverdueBadge />}
      </div>
      {lead}
      {p.description && <p class="desc">{p.description}</p>}
      {no && (
        <Row label={d.col.caseNo}>
          <a class="case-no" href={pageHref(problem)} target="_blank" rel="noopener">
            {no}
          </a>
        </Row>
      )}
      {place && <Row label={d.col.place}>{place}</Row>}
      {to.zone && <Row label={d.col.zone}>{to.zone}</Row>}
      {to.assignee && <Row label={d.col.chief}>{to.assignee}</Row>}
      <Row label={d.severity}>
        <SeverityBadge severity={p.severity} />
      </Row>
      <Row label={d.reportedAt}>{formatTime(p.reported_at)}</Row>
      <Row label={d.updatedAt}>{formatTime(p.updated_at)}</Row>
      {p.deadline && (
        <Row label={d.deadline} late={p.overdue}>
          {formatTime(p.deadline)}
        </Row>
      )}
      {p.location_generalised && <p class="note">{d.generalised}</p>}
      {children}
    </div>
  );
}
