// Whether the server can be reached: one state for the whole page. `request()` reports every
// answer and every failure to reach the server; the live stream and a slow heartbeat report
// theirs. While the server is unreachable, `/healthz` is asked with a growing pause, and when it
// answers again `reconnects` counts up, and the page reloads what it shows by itself.

import { signal } from '@preact/signals';

/** False from the first failure to reach the server until it answers again. */
export const reachable = signal(true);
/** Counts the returns of the server: views and layers reload when it changes. */
export const reconnects = signal(0);

/** The first retry after the server went away, ms; then doubled up to `MAX_RETRY_MS`. */
const FIRST_RETRY_MS = 1_500;
/** Retries stay this frequent at most, so a stopped server is not asked more than needed. */
const MAX_RETRY_MS = 10_000;
/** While the page is visible and the server reachable, it is asked this often whether it still is:
 *  the public map otherwise makes no request for minutes and would not notice. */
const HEARTBEAT_MS = 20_000;
const HEALTH_PATH = '/healthz';

let retry: number | null = null;
let started = false;

/** `request()` got an answer (any status): the server is there. */
export function answered(): void {
  if (!reachable.value) back();
}

/** A request got no answer at all: the server or the network is gone. */
export function unreachable(): void {
  if (reachable.value) {
    reachable.value = false;
    schedule(FIRST_RETRY_MS);
  }
}

/** Asks the server once whether it is there (after the live stream broke, say). */
export async function probe(): Promise<boolean> {
  try {
    const r = await fetch(HEALTH_PATH, { cache: 'no-store', credentials: 'omit' });
    answered();
    return r.ok;
  } catch {
    unreachable();
    return false;
  }
}

function schedule(ms: number): void {
  if (retry !== null) return;
  retry = window.setTimeout(() => {
    retry = null;
    void probe().then((ok) => {
      if (!ok && !reachable.value) schedule(Math.min(ms * 2, MAX_RETRY_MS));
    });
  }, ms);
}

function back(): void {
  if (retry !== null) {
    window.clearTimeout(retry);
    retry = null;
  }
  reachable.value = true;
  reconnects.value += 1;
}

/** Starts the heartbeat and listens to the browser's own online/offline events. Once per page. */
export function watchConnection(): void {
  if (started) return;
  started = true;
  window.addEventListener('offline', () => unreachable());
  window.addEventListener('online', () => void probe());
  window.setInterval(() => {
    if (document.visibilityState === 'visible' && reachable.value) void probe();
  }, HEARTBEAT_MS);
}
