// Who is signed in, as a signal every view and component reads: `undefined` while the server has
// not been asked yet, `null` for nobody. Staff sign in with a name and a password only
// (`POST /api/v1/login`, a cookie session); the page never holds a bearer token.

import { signal } from '@preact/signals';
import { ApiError, maybeSignedIn, onSessionLost, request, setCsrf, setSignedInHint } from './api/client';
import type { Me } from './api/types';

export const session = signal<Me | null | undefined>(undefined);

let asked: Promise<Me | null> | null = null;

// A session that expired (or was ended elsewhere) shows the sign-in form again.
onSessionLost(() => {
  asked = Promise.resolve(null);
  session.value = null;
});

/** Asks the server once who this browser is (only when it signed in here before: no 401 for visitors). */
export function loadSession(): Promise<Me | null> {
  asked ??= (async () => {
    if (!maybeSignedIn()) return null;
    try {
      const me = await request<Me>('/api/v1/me', { auth: true });
      setCsrf(me.csrf_token ?? null);
      return me;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        setCsrf(null);
        setSignedInHint(false);
      }
      return null;
    }
  })().then((me) => (session.value = me));
  return asked;
}

/** Signs in with a name and password; the session lives in an HttpOnly cookie. */
export async function signIn(name: string, password: string): Promise<Me> {
  const me = await request<Me>('/api/v1/login', { method: 'POST', json: { name, password }, auth: true });
  setCsrf(me.csrf_token ?? null);
  setSignedInHint(true);
  asked = Promise.resolve(me);
  session.value = me;
  return me;
}

/** Ends the session (also when the server cannot be told: this browser forgets it anyway). */
export async function signOut(): Promise<void> {
  try {
    await request<void>('/api/v1/logout', { method: 'POST', auth: true });
  } catch {
    // Signed out here regardless; the cookie expires by itself.
  } finally {
    setCsrf(null);
    setSignedInHint(false);
    asked = Promise.resolve(null);
    session.value = null;
    // The reads cached for use without a network were this person's: not the next one's.
    if ('caches' in window) void caches.delete(API_CACHE).catch(() => undefined);
  }
}

/** The service worker's cache of API reads (vite.config.mjs). */
const API_CACHE = 'civmap-api';

/** Whether the signed-in account is staff (grid workers sign in too, but have no inbox). */
export function isStaff(me: Me | null | undefined): me is Me {
  return !!me && me.role !== 'reporter';
}
