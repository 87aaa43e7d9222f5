import { t } from '../i18n';

/** "Overdue", red. */
export function OverdueBadge() {
  return <span class="badge overdue">{t().overdue}</span>;
}
