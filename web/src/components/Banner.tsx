// The banner under the header: one message for the whole page (the categories did not load).

import { signal } from '@preact/signals';
import { ErrorText } from './ErrorText';

/** What the banner says: a string, or an error put in words; `null` hides it. */
export const bannerMessage = signal<{ prefix: string; error: unknown } | null>(null);

export function Banner() {
  const m = bannerMessage.value;
  if (!m) return null;
  return (
    <div class="banner" role="alert">
      {m.prefix}
      {': '}
      <ErrorText error={m.error} inline />
    </div>
  );
}
