// The coverage check in one sentence ("未覆盖 12 个网格单元，重叠 3 处") and the share covered;
// the parts themselves are drawn on the map by the set-up layer.

import type { CoverageCheck } from '../api';
import type { Loaded } from '../hooks';
import { t } from '../i18n';
import { ErrorText } from './ErrorText';

export function CoverageSummary({ state }: { state: Loaded<CoverageCheck | null> }) {
  const d = t();
  const c = state.value;
  let text = '';
  if (c) {
    text = c.uncovered_cells !== null && c.uncovered_cells !== undefined ? d.setup.coverageSummary(c.uncovered_cells, c.overlaps) : d.setup.coverageArea(Math.round(c.uncovered_m2), c.overlaps);
  }
  return (
    <div class="coverage-box">
      <h3>{d.setup.coverage}</h3>
      {state.error ? (
        <ErrorText error={state.error} for="coverage" context="coverage" />
      ) : c ? (
        <p class="coverage-summary" data-uncovered-cells={c.uncovered_cells ?? ''} data-overlaps={c.overlaps}>
          <strong>{text}</strong>
          <span class="muted">{d.comma + d.setup.coverageShare((c.covered_share * 100).toFixed(1))}</span>
        </p>
      ) : (
        <p class="muted">{d.loading}</p>
      )}
    </div>
  );
}
