// What every view gets: the shared map and its layers, the category table, the side panel, and
// the URL state.

import type { Map as MlMap } from 'maplibre-gl';
import type { Category } from './api';
import type { HashState } from './url';
import type { ProblemLayer, ZoneLayer } from './mapview';

export interface App {
  map: MlMap;
  problems: ProblemLayer;
  zones: ZoneLayer;
  cats: Category[];
  /** Resolves after the first problems were drawn (secondary requests wait for it). */
  firstIdle: Promise<void>;
  /** Resolves when the three-surroundings zones are loaded. */
  zonesReady: Promise<void>;
  /** The side panel (desktop) / bottom sheet (phone) the view renders into. */
  panel: HTMLElement;
  /** The current URL state; views edit `params` and call `syncUrl`. */
  hash: HashState;
  syncUrl(): void;
  /** Re-renders the legend (after the loaded problems change). */
  refreshLegend(): void;
}

/** A mounted view; `unmount` undoes its map handlers. */
export interface View {
  unmount(): void;
}
