// The map legend: the categories on the map with their colours and counts, and what the symbols
// mean. A MapLibre control, so it sits with the other map controls.

import type { IControl, Map as MlMap } from 'maplibre-gl';
import type { Category } from './api';
import { categoryColor, categoryName } from './colors';
import { clear, el } from './dom';
import { t } from './i18n';
import type { LoadState } from './mapview';

export class Legend implements IControl {
  private root: HTMLElement;
  private details: HTMLDetailsElement;
  private cats: Category[];

  constructor(cats: Category[], open: boolean) {
    this.cats = cats;
    this.details = el('details', { class: 'legend', open });
    this.root = el('div', { class: 'maplibregl-ctrl maplibregl-ctrl-group legend-ctrl' }, this.details);
  }

  onAdd(_map: MlMap): HTMLElement {
    return this.root;
  }

  /** Opens or folds the legend (folded on a phone, where it would cover the map). */
  setOpen(open: boolean): void {
    this.details.open = open;
  }

  onRemove(): void {
    this.root.remove();
  }

  /** Redraws for the loaded problems (`state.perCategory`) and whether heat is on. */
  render(state: LoadState, heat: boolean): void {
    const d = t();
    const open = this.details.open;
    clear(this.details);
    this.details.open = open;
    const rows = [...state.perCategory.entries()].sort((a, b) => b[1] - a[1]);
    this.details.append(
      el('summary', {}, d.legend),
      el(
        'ul',
        { class: 'legend-cats' },
        ...rows.map(([code, n]) => {
          const c = this.cats.find((x) => x.code === code);
          return el(
            'li',
            { 'data-category': code },
            el('span', { class: 'swatch', style: `background:${categoryColor(code)}` }),
            el('span', { class: 'legend-name' }, c ? categoryName(c) : code),
            el('span', { class: 'legend-n' }, String(n)),
          );
        }),
      ),
      el(
        'ul',
        { class: 'legend-keys' },
        el('li', {}, el('span', { class: 'sym sym-open' }), d.legendOpen),
        el('li', {}, el('span', { class: 'sym sym-closed' }), d.legendClosed),
        el('li', {}, el('span', { class: 'sym sym-overdue' }), d.overdue),
        el('li', {}, el('span', { class: 'sym sym-cluster' }, '12'), d.legendCluster),
        heat ? el('li', {}, el('span', { class: 'sym sym-heat' }), d.heat) : null,
      ),
    );
  }
}
