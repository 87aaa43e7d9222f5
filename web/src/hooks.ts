// Small hooks the components share.

import { useEffect, useState } from 'preact/hooks';
import { isAbort } from './api';

/** The state of something loaded: the value, or the error, while `loading` says it is under way. */
export interface Loaded<T> {
  value: T | undefined;
  error: unknown;
  loading: boolean;
}

/**
 * Runs `load` when the component mounts and whenever `deps` change (the previous run is aborted);
 * answers its state and a function that runs it again.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): [Loaded<T>, () => void] {
  const [state, setState] = useState<Loaded<T>>({ value: undefined, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(abort.signal).then(
      (value) => !abort.signal.aborted && setState({ value, error: null, loading: false }),
      (error: unknown) => !abort.signal.aborted && !isAbort(error) && setState({ value: undefined, error, loading: false }),
    );
    return () => abort.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return [state, () => setTick((n) => n + 1)];
}

/** An object URL for a Blob, revoked when the component leaves or the Blob changes. */
export function useObjectUrl(blob: Blob | null | undefined): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!blob) {
      setUrl(null);
      return undefined;
    }
    const u = URL.createObjectURL(blob);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [blob]);
  return url;
}

/** A short id for form controls (`for`/`id` pairs), stable for the component's life. */
let counter = 0;
export function useId(prefix: string): string {
  const [id] = useState(() => `${prefix}-${++counter}`);
  return id;
}
