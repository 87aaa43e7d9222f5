// Views loaded on first use, each its own chunk: the public map's first load fetches, parses and
// compiles the map and its own view only, not the consoles of the street office, the chiefs, the
// inspectors and the set-up (about a third of the app's code). The service worker precaches every
// chunk, so a view opened without a network still loads once the app was installed.

import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { NetworkError } from './api';
import type { ViewProps } from './app';
import { LoadError } from './components/LoadError';

type View = FunctionComponent<ViewProps>;

/** A view whose code `load` imports the first time it is shown; "…" until then. */
export function lazyView(load: () => Promise<View>): View {
  let loaded: View | null = null;
  let pending: Promise<View> | null = null;
  const start = () =>
    (pending ??= load().then(
      (v) => (loaded = v),
      (e: unknown) => {
        // A chunk that did not arrive is the network's doing; the next showing tries again.
        pending = null;
        throw new NetworkError(e);
      },
    ));
  return function Lazy(props: ViewProps) {
    // A counter, not the component: `useState` calls a function it is given.
    const [, setLoads] = useState(0);
    const [error, setError] = useState<unknown>(null);
    useEffect(() => {
      if (loaded) return;
      let live = true;
      start().then(
        () => live && setLoads((n) => n + 1),
        (e: unknown) => live && setError(e),
      );
      return () => {
        live = false;
      };
    }, []);
    if (loaded) {
      const Loaded = loaded;
      return <Loaded {...props} />;
    }
    return error ? <LoadError error={error} /> : <p class="muted">…</p>;
  };
}
