// How many problems the map shows, loading, errors.

import type { ProblemLayer } from '../map/mapview';
import { reachable } from '../connection';
import { t } from '../i18n';
import { ErrorText } from './ErrorText';

export function StatusLine({ layer }: { layer: ProblemLayer }) {
  const s = layer.status.value;
  const d = t();
  return (
    <p class={`status-line${s.error ? ' error' : ''}`} aria-live="polite">
      {s.error ? (
        <>
          {d.loadFailed}: <ErrorText error={s.error} inline />
        </>
      ) : s.loading ? (
        d.loading
      ) : (
        (s.truncated ? d.shownPartial(s.count) : d.shown(s.count)) +
        (s.clamped ? ` ${d.areaClamped}` : '') +
        (reachable.value ? '' : d.connection.stale)
      )}
    </p>
  );
}
