// Small hooks the components and views share.

import { useEffect, useState } from 'preact/hooks';
import { isAbort } from './api';
import type { App } from './app';
import { filtersFromParams, filtersToParams, toApiFilter } from './filters';
import type { Filters } from './filters';
import type { ProblemLayer } from './map/mapview';
import { reconnects } from './connection';

/** The state of something loaded: the value, or the error, while `loading` says it is under way. */
export interface Loaded<T> {
  value: T | undefined;
  error: unknown;
  loading: boolean;
}

/** What a form sends: busy while a request runs, and the error of the last one for the form to show. */
export interface Sender {
  busy: boolean;
  error: unknown;
  setError: (e: unknown) => void;
  /** Runs `request`; its answer, or `undefined` when it failed (the error is kept). */
  send: <T>(request: () => Promise<T>) => Promise<T | undefined>;
}

export function useSend(): Sender {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const send = async <T,>(request: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await request();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, send };
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
    // After the server was unreachable and is back, everything loaded loads again (without
    // remounting: a half-filled form keeps what was typed).
  }, [...deps, tick, reconnects.value]);
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

/**
 * The shared problem layer for the view's life: whether it loads as the signed-in account
 * (`auth`: staff see exact positions and their scope) and what a click on a problem does.
 * Leaving the view gives the layer back as the public map has it.
 */
export function useProblemLayer(app: App, auth: boolean, onSelect: ProblemLayer['onSelect']): void {
  useEffect(() => {
    const { problems } = app;
    problems.auth = auth;
    problems.onSelect = onSelect;
    return () => {
      problems.onSelect = null;
      problems.select(null);
      problems.auth = false;
    };
  }, []);
}

/**
 * The view's problem filters: read from the URL (`cat`, `status`, `period`; `fixed` overrides
 * some), and on every change written back to the URL and handed to the map.
 */
export function useUrlFilters(app: App, fixed: Partial<Filters> = {}): [Filters, (f: Filters) => void] {
  const p = app.hash.params;
  const [filters, setFilters] = useState<Filters>(() => ({ ...filtersFromParams(p, new Set(app.cats.map((c) => c.code))), ...fixed }));
  useEffect(() => {
    filtersToParams(filters, p);
    app.syncUrl();
    app.problems.setFilter(toApiFilter(filters));
  }, [filters]);
  return [filters, setFilters];
}
