// The inbox of a signed-in chief or street office: counts, the lists (rework, look-backs due,
// escalations, fixes to verify, reporters' "not solved") and buttons for look-backs. Live: the
// server's event stream (`/api/v1/me/stream`, the session cookie goes with it) says when
// something changed, and the inbox reloads (at most once a second). `reloadKey` changing reloads
// it too (after a step here).

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, inbox, inboxPage, reinspect } from '../api';
import type { Inbox, InboxItem, InboxList } from '../api';
import { formatTime, lang, t } from '../i18n';
import { useLoad } from '../hooks';
import { ErrorText } from './ErrorText';
import { LoadError } from './LoadError';
import { OverdueBadge } from './OverdueBadge';
import { probe, reachable } from '../connection';
import { enqueue, isOffline, newItemId } from '../outbox';

/** Reloads after changes are quiet for this long, ms. */
const RELOAD_DEBOUNCE_MS = 1000;
/** Items drawn per page of a list: the street office's lists can hold hundreds. */
const SHOWN = 20;

/** What of a list is drawn: how many items, and the items fetched after the first answer. */
interface Paging {
  shown: number;
  extra: InboxItem[];
  next: string | null;
}

/** Calls `onChange` for every change the server streams; `onLive` says whether the stream is open. */
function useChangeStream(onChange: () => void, onLive: (live: boolean) => void): void {
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    if (typeof EventSource === 'undefined') return undefined;
    const es = new EventSource('/api/v1/me/stream', { withCredentials: true });
    es.addEventListener('open', () => onLive(true));
    // The stream broke: the browser reconnects it by itself; whether the server is gone is
    // asked at once, so the whole page shows it.
    es.addEventListener('error', () => {
      onLive(false);
      void probe();
    });
    es.addEventListener('problem', () => latest.current());
    es.addEventListener('lagged', () => latest.current());
    return () => es.close();
  }, []);
}

/** How long until `deadline`, or how long past it, in the unit a person thinks in. */
export function timeLeft(deadline: string, now: number): string {
  const w = t().inbox;
  const ms = Date.parse(deadline) - now;
  const abs = Math.abs(ms);
  const span = abs >= 48 * 3_600_000 ? w.days(Math.floor(abs / 86_400_000)) : abs >= 3_600_000 ? w.hours(Math.floor(abs / 3_600_000)) : w.minutes(Math.max(1, Math.floor(abs / 60_000)));
  return ms >= 0 ? w.left(span) : w.overdueBy(span);
}

function Item({ item, onOpen, children }: { item: InboxItem; onOpen: (id: string) => void; children?: preact.ComponentChildren }) {
  const d = t();
  return (
    <li class={`inbox-item${item.overdue ? ' late' : ''}`} data-problem={item.id}>
      <button type="button" class="link" onClick={() => onOpen(item.id)}>
        {`${lang() === 'en' ? item.category : item.category_zh}${item.description ? ` · ${item.description}` : ''}`}
      </button>
      {/* What tells two 违停 rows apart: the number the office types and where it is. */}
      {(item.case_no || item.place) && (
        <span class="inbox-where">
          {item.case_no && <span class="case-no muted">{item.case_no}</span>}
          {item.place && <span class="task-place">{item.place}</span>}
        </span>
      )}
      <span class="muted">{item.due_at ? `${d.inbox.closedAt} ${formatTime(item.closed_at ?? null)}` : item.deadline ? formatTime(item.deadline) : ''}</span>
      {!item.due_at && item.deadline && <span class={`time-left${item.overdue ? ' late' : ''}`}>{timeLeft(item.deadline, Date.now())}</span>}
      {item.overdue && <OverdueBadge />}
      {children}
    </li>
  );
}

export function InboxPanel({ onOpen, reloadKey = 0 }: { onOpen: (id: string) => void; reloadKey?: number }) {
  const d = t();
  const w = d.inbox;
  const [live, setLive] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [box, reload] = useLoad(() => inbox(), [reloadKey]);
  const pending = useRef<number | null>(null);
  const [paging, setPaging] = useState<Record<string, Paging>>({});
  // A fresh inbox starts every list at its first page again.
  useEffect(() => setPaging({}), [box.value]);
  useChangeStream(() => {
    if (pending.current !== null) return;
    pending.current = window.setTimeout(() => {
      pending.current = null;
      reload();
    }, RELOAD_DEBOUNCE_MS);
  }, setLive);
  useEffect(() => () => window.clearTimeout(pending.current ?? undefined), []);

  if (box.error) {
    // Grid workers and the public have no inbox: say nothing.
    if (box.error instanceof ApiError && (box.error.status === 401 || box.error.status === 403)) return null;
    return (
      <section class="inbox">
        <LoadError error={box.error} />
      </section>
    );
  }
  const b: Inbox | undefined = box.value;
  const sections: [string, string, InboxList | undefined][] = [
    ['tasks', w.tasks, b?.tasks],
    ['rework', w.rework, b?.rework],
    ['reinspections', w.reinspections, b?.reinspections],
    ['escalations', w.escalations, b?.escalations],
    ['to_verify', w.toVerify, b?.to_verify],
    // Closed problems whose reporter answered "not solved" (回访): the street office looks again.
    ['feedback_unsolved', w.feedbackUnsolved, b?.feedback_unsolved],
  ];
  /** The next page of list `key`: more of what is loaded, fetching the server's next page when needed. */
  const nextPage = async (key: string, l: InboxList) => {
    const p = paging[key] ?? { shown: SHOWN, extra: [], next: l.next ?? null };
    const want = p.shown + SHOWN;
    let { extra, next } = p;
    setError(null);
    try {
      while (l.items.length + extra.length < want && next) {
        const page = await inboxPage(next);
        extra = [...extra, ...page.items];
        next = page.next ?? null;
      }
    } catch (e) {
      setError(e);
    }
    setPaging((old) => ({ ...old, [key]: { shown: want, extra, next } }));
  };
  const look = async (i: InboxItem, result: 'clean' | 'came_back') => {
    setError(null);
    // Made without a connection (or its send found none): kept on the phone and sent later,
    // under one key, so a send that did arrive is not done twice.
    const key = newItemId();
    const queue = () =>
      enqueue({ id: key, write: { kind: 'reinspect', problem: i.id, version: i.version, result }, label: `${i.category_zh} ${result === 'clean' ? w.clean : w.cameBack}` });
    try {
      if (!navigator.onLine) await queue();
      else {
        await reinspect(i.id, i.version, result, key);
        reload();
      }
    } catch (e) {
      if (isOffline(e)) await queue();
      else setError(e);
    }
  };
  return (
    <section class="inbox" aria-live="polite">
      <h3>
        {w.title} <span class={`live-dot${live && reachable.value ? ' on' : ''}`} title={w.live} data-live={live && reachable.value ? 'on' : 'off'} />
        {sections
          .filter(([, , l]) => l && l.count > 0)
          .map(([key, label, l]) => (
            <span key={key} class="inbox-count" data-count={key}>{`${label} ${l!.count}`}</span>
          ))}
      </h3>
      {b && sections.every(([, , l]) => !l || l.count === 0) && <p class="muted">{w.empty}</p>}
      {sections.map(([key, label, l]) =>
        // Tasks are the list below the zone picker; short lists open, long ones folded.
        !l || l.count === 0 || key === 'tasks' ? null : (
          <details key={key} class="inbox-section" open={l.count <= 3}>
            <summary>{`${label} (${l.count})`}</summary>
            <ul class="inbox-list" data-list={key}>
              {[...l.items, ...(paging[key]?.extra ?? [])].slice(0, paging[key]?.shown ?? SHOWN).map((i) => (
                <Item key={i.id} item={i} onOpen={onOpen}>
                  {key === 'reinspections' && (
                    <span class="action-row">
                      <button type="button" class="btn secondary small" data-reinspect="clean" onClick={() => void look(i, 'clean')}>
                        {w.clean}
                      </button>
                      <button type="button" class="btn secondary small" data-reinspect="came_back" onClick={() => void look(i, 'came_back')}>
                        {w.cameBack}
                      </button>
                    </span>
                  )}
                </Item>
              ))}
            </ul>
            {l.count > (paging[key]?.shown ?? SHOWN) && (
              <button type="button" class="btn secondary small" data-next={key} onClick={() => void nextPage(key, l)}>
                {w.more(l.count - (paging[key]?.shown ?? SHOWN))}
              </button>
            )}
          </details>
        ),
      )}
      <ErrorText error={error} for="reinspect" />
    </section>
  );
}
