// The banner under the header: one message for the whole page — why it could not start (the
// categories did not load), that the server cannot be reached (retrying; and how many records
// wait on the phone to be sent when it is back: the outbox), or that it is back.

import { signal, useSignalEffect } from '@preact/signals';
import { useState } from 'preact/hooks';
import { reachable, reconnects } from '../connection';
import { t } from '../i18n';
import { LoadError } from './LoadError';
import { outboxItems } from '../outbox';

/** Why the page could not start; `null` hides the banner. */
export const bannerError = signal<unknown>(null);

/** How long "connected again" stays, ms. */
const BACK_SHOWN_MS = 5_000;

export function Banner() {
  const d = t();
  const [back, setBack] = useState(false);
  useSignalEffect(() => {
    if (reconnects.value === 0) return undefined;
    setBack(true);
    const timer = window.setTimeout(() => setBack(false), BACK_SHOWN_MS);
    return () => window.clearTimeout(timer);
  });
  if (!reachable.value) {
    return (
      <div class="banner offline" role="alert" data-connection="lost">
        {d.connection.lost}
        {outboxItems.value.length > 0 && (
          <span class="banner-queued" data-queued={outboxItems.value.length}>
            {' '}
            {d.connection.queued(outboxItems.value.length)}
          </span>
        )}
      </div>
    );
  }
  const e = bannerError.value;
  if (e !== null) {
    return (
      <div class="banner" role="alert">
        <LoadError error={e} />
      </div>
    );
  }
  if (back) {
    return (
      <div class="banner back" role="status" data-connection="back">
        {d.connection.back}
      </div>
    );
  }
  return null;
}
