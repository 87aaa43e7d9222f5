import { statusName } from '../i18n';

/** A problem's status as a coloured badge. */
export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{statusName(status)}</span>;
}
