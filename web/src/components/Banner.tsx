// The banner under the header: one message for the whole page (the categories did not load).

import { signal } from '@preact/signals';
import { LoadError } from './LoadError';

/** Why the page could not start; `null` hides the banner. */
export const bannerError = signal<unknown>(null);

export function Banner() {
  const e = bannerError.value;
  if (e === null) return null;
  return (
    <div class="banner" role="alert">
      <LoadError error={e} />
    </div>
  );
}
