// The problem filters as form controls: categories (a folding multi-select), status, period.
// Shared by the public map and the staff consoles; `onChange` gets a new value on every edit.

import type { Category } from '../api';
import { categoryName } from '../colors';
import { PERIODS } from '../filters';
import type { Filters } from '../filters';
import { pick, STATUSES, statusName, t } from '../i18n';
import { useId } from '../hooks';
import { Swatch } from './Swatch';

export function FilterControls({ cats, value, onChange }: { cats: Category[]; value: Filters; onChange: (f: Filters) => void }) {
  const d = t();
  const statusId = useId('status');
  const periodId = useId('period');
  const chosen = value.categories;
  const summary =
    chosen.length === 0
      ? d.allCategories
      : chosen
          .map((c) => cats.find((x) => x.code === c))
          .filter((c): c is Category => !!c)
          .map(categoryName)
          .join('、');
  const toggle = (code: string, on: boolean) =>
    onChange({ ...value, categories: on ? [...chosen, code] : chosen.filter((c) => c !== code) });
  return (
    <div class="filters">
      <div class="field">
        <span class="label">{d.category}</span>
        <details class="cat-select">
          <summary aria-label={d.category}>
            <span class="summary-text">{summary}</span>
          </summary>
          <div class="cat-pop">
            <div class="cat-list" role="group">
              {cats.map((c) => (
                <label key={c.code} class="cat-item">
                  <input type="checkbox" value={c.code} checked={chosen.includes(c.code)} onChange={(e) => toggle(c.code, e.currentTarget.checked)} />
                  <Swatch category={c.code} />
                  {categoryName(c)}
                </label>
              ))}
            </div>
            <button type="button" class="link" onClick={() => onChange({ ...value, categories: [] })}>
              {d.noneCategories}
            </button>
          </div>
        </details>
      </div>
      <div class="field-row">
        <div class="field">
          <label for={statusId} class="label">
            {d.status}
          </label>
          <select id={statusId} name="status" value={value.status} onChange={(e) => onChange({ ...value, status: e.currentTarget.value })}>
            <option value="">{d.statusAll}</option>
            <option value="open">{d.statusOpen}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {statusName(s)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={periodId} class="label">
            {d.period}
          </label>
          <select id={periodId} name="period" value={value.period} onChange={(e) => onChange({ ...value, period: e.currentTarget.value })}>
            {PERIODS.map((p) => (
              <option key={p} value={p}>
                {pick(d.periods, p)}
              </option>
            ))}
          </select>
        </div>
      </div>
    </div>
  );
}
