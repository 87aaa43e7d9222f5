// What waits on the phone to be sent (the outbox): "N 条待发送", the list of what waits, a
// "立即发送" button, and for each item the server refused what happened ("该问题已被他人处理：
// 现状态 已整改") with a choice to discard it. Nothing leaves the list unless it was sent or the
// person discarded it.

import { ApiError } from '../api';
import { formatTime, pick, statusName, t } from '../i18n';
import { errorText } from '../i18n/errors';
import { discard, flush, outboxItems, outboxSending } from '../outbox';
import type { OutboxItem, Refusal } from '../outbox';

/** What a refused item's person reads. */
export function refusalText(r: Refusal, kind?: string): string {
  const o = t().outbox;
  if (r.status === 409) return r.currentStatus ? o.conflict(statusName(r.currentStatus)) : o.conflictUnknown;
  return o.refused + errorText(new ApiError(r.status, r.code, r.message, { field: r.field ?? null }), context(kind));
}

/** The error context of an item's kind: a patrol's writes and check-ins are about zones and patrols, not problems. */
function context(kind: string | undefined): string | null {
  if (kind === 'check-in') return 'check-in';
  if (kind?.startsWith('patrol-')) return 'patrol';
  return null;
}

function Item({ item }: { item: OutboxItem }) {
  const o = t().outbox;
  const refused = item.refused ?? null;
  return (
    <li class={`outbox-item${refused ? ' refused' : ''}`} data-outbox-item={item.id} data-kind={item.write.kind} data-refused={refused ? refused.code : undefined}>
      <span class="outbox-label">
        <span class="outbox-kind">{pick(o.kinds, item.write.kind)}</span> {item.label}
      </span>
      <span class="muted outbox-time">{o.madeAt(formatTime(item.createdAt))}</span>
      {refused && (
        <>
          <p class="warning outbox-refusal" role="alert">
            {refusalText(refused, item.write.kind)}
          </p>
          <button
            type="button"
            class="btn secondary small"
            name="outbox-discard"
            onClick={() => {
              if (window.confirm(o.discardConfirm)) void discard(item.id);
            }}
          >
            {o.discard}
          </button>
        </>
      )}
    </li>
  );
}

/** The outbox as a panel section; nothing when nothing waits. */
export function OutboxPanel() {
  const o = t().outbox;
  const items = outboxItems.value;
  if (items.length === 0) return null;
  const waiting = items.filter((i) => !i.refused).length;
  return (
    <section class="outbox" data-outbox-count={items.length} aria-live="polite">
      <div class="outbox-head">
        <strong class="outbox-count">{o.pending(items.length)}</strong>
        {waiting > 0 && (
          <button type="button" class="btn primary small" name="outbox-send" disabled={outboxSending.value} onClick={() => void flush()}>
            {outboxSending.value ? o.sending : o.sendNow}
          </button>
        )}
      </div>
      <ul class="outbox-list">
        {items.map((i) => (
          <Item key={i.id} item={i} />
        ))}
      </ul>
    </section>
  );
}
