import { severityName } from '../i18n';

/** A problem's severity (`high`) in words, coloured by how severe it is. */
export function SeverityBadge({ severity }: { severity: string }) {
  return <span class={`severity sev-${severity}`}>{severityName(severity)}</span>;
}
