// The street office's rectification notice (整改通知单) for one problem, folded behind one
// button: the responsible unit, the deadline in working days and, optionally, what is wrong in
// the office's words. Issuing records the notice number in the problem's history; the printed
// page opens from the link shown after.

import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import type { Notice } from '../api';
import { issueNotice } from '../api/inspections';
import { t } from '../i18n';
import { useId, useSend } from '../hooks';
import { Field } from './Field';
import { FoldedForm } from './FoldedForm';

/** The deadline the form proposes; the server's own default is the same. */
const DEFAULT_WORKING_DAYS = 3;

export function NoticeForm(props: { problem: string; onIssued?: (n: Notice) => void }) {
  const d = t().noticeForm;
  const unitId = useId('notice-unit');
  const daysId = useId('notice-days');
  const wrongId = useId('notice-wrong');
  const [open, setOpen] = useState(false);
  const [unit, setUnit] = useState('');
  const [days, setDays] = useState(String(DEFAULT_WORKING_DAYS));
  const [wrong, setWrong] = useState('');
  const { busy, error, send } = useSend();
  const [issued, setIssued] = useState<Notice | null>(null);
  const errorAt = (field: string) => (error instanceof ApiError && error.field === field ? error : null);
  const other = error && !errorAt('unit') && !errorAt('working_days') && !errorAt('wrong') ? error : null;

  const submit = async () => {
    const n = await send(() => issueNotice({ problem: props.problem, unit: unit.trim(), working_days: Number(days) || DEFAULT_WORKING_DAYS, wrong: wrong.trim() }));
    if (!n) return;
    setIssued(n);
    setOpen(false);
    props.onIssued?.(n);
  };

  if (!open) {
    return (
      <div class="notice-actions">
        <button type="button" class="btn secondary small" data-action="open-notice" onClick={() => { setIssued(null); setOpen(true); }}>
          {d.open}
        </button>
        {issued && (
          <p class="success" role="status" data-notice={issued.number}>
            {d.issued(issued.number)}{' '}
            <a href={issued.print_url} target="_blank" rel="noopener" class="btn small" data-action="print-notice">
              {d.print}
            </a>
          </p>
        )}
      </div>
    );
  }
  return (
    <FoldedForm class="notice-form" busy={busy} submit={{ label: d.issue, action: 'issue-notice' }} cancel={d.cancel} onSubmit={() => void submit()} onCancel={() => setOpen(false)} error={other} errorFor="notice">
      <Field name="unit" label={d.unit} for={unitId} error={errorAt('unit')}>
        <input id={unitId} name="notice-unit" maxLength={200} placeholder={d.unitPlaceholder} value={unit} onInput={(e) => setUnit(e.currentTarget.value)} />
      </Field>
      <Field name="working_days" label={d.days} for={daysId} error={errorAt('working_days')}>
        <input id={daysId} name="notice-days" type="number" min={1} max={60} value={days} onInput={(e) => setDays(e.currentTarget.value)} />
      </Field>
      <Field name="wrong" label={d.wrong} for={wrongId} error={errorAt('wrong')}>
        <textarea id={wrongId} name="notice-wrong" rows={2} maxLength={1000} placeholder={d.wrongPlaceholder} value={wrong} onInput={(e) => setWrong(e.currentTarget.value)} />
      </Field>
    </FoldedForm>
  );
}
