// What every view gets: the shared map and its layers, the category table, and the URL state.

import type { Map as MlMap } from 'maplibre-gl';
import type { Category } from './api';
import type { HashState } from './url';
import type { ProblemLayer, ZoneLayer } from './map/mapview';

export interface App {
  map: MlMap;
  problems: ProblemLayer;
  zones: ZoneLayer;
  cats: Category[];
  /** Resolves after the first problems were drawn (secondary requests wait for it). */
  firstIdle: Promise<void>;
  /** Resolves when the three-surroundings zones are loaded. */
  zonesReady: Promise<void>;
  /** The current URL state; views edit `params` and call `syncUrl`. */
  hash: HashState;
  syncUrl(): void;
}

/** A view: a component rendered into the side panel (desktop) or bottom sheet (phone). */
export type ViewProps = { app: App };
