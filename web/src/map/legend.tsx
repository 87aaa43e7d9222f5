// The map legend: the categories on the map with their colours and counts, and what the symbols
// mean. A MapLibre control (so it sits with the other map controls) whose content is a Preact
// component following the problem layer's state.

import { signal } from '@preact/signals';
import type { Signal } from '@preact/signals';
import { render } from 'preact';
import type { IControl } from 'maplibre-gl';
import type { Category } from '../api';
import { categoryName, ZONE_COLORS } from '../colors';
import { Swatch } from '../components/Swatch';
import { t } from '../i18n';
import type { ProblemLayer } from './mapview';

function LegendBody({ layer, cats, open }: { layer: ProblemLayer; cats: Category[]; open: boolean }) {
  const d = t();
  const rows = [...layer.status.value.perCategory.entries()].sort((a, b) => b[1] - a[1]);
  return (
    <details class="legend" open={open}>
      <summary>{d.legend}</summary>
      <ul class="legend-cats">
        {rows.map(([code, n]) => {
          const c = cats.find((x) => x.code === code);
          return (
            <li key={code} data-category={code}>
              <Swatch category={code} />
              <span class="legend-name">{c ? categoryName(c) : code}</span>
              <span class="legend-n">{n}</span>
            </li>
          );
        })}
      </ul>
      <ul class="legend-keys">
        <li>
          <span class="sym sym-open" />
          {d.legendOpen}
        </li>
        <li>
          <span class="sym sym-closed" />
          {d.legendClosed}
        </li>
        <li>
          <span class="sym sym-overdue" />
          {d.overdue}
        </li>
        <li>
          <span class="sym sym-cluster">12</span>
          {d.legendCluster}
        </li>
        <li class="legend-zones">
          {(['school', 'park', 'market'] as const).map((k) => (
            <span key={k} class="sym sym-zone" style={{ borderColor: ZONE_COLORS[k], background: `${ZONE_COLORS[k]}22` }} />
          ))}
          {d.legendZones}
        </li>
        {layer.heatShown.value && (
          <li class="legend-heat">
            <span class="heat-scale" aria-hidden="true" />
            <span>{d.legendHeat}</span>
          </li>
        )}
      </ul>
    </details>
  );
}

export class Legend implements IControl {
  private readonly root: HTMLElement;
  private readonly open: Signal<boolean>;

  constructor(layer: ProblemLayer, cats: Category[], open: boolean) {
    this.open = signal(open);
    this.root = document.createElement('div');
    this.root.className = 'maplibregl-ctrl maplibregl-ctrl-group legend-ctrl';
    const Body = () => <LegendBody layer={layer} cats={cats} open={this.open.value} />;
    render(<Body />, this.root);
  }

  onAdd(): HTMLElement {
    return this.root;
  }

  onRemove(): void {
    render(null, this.root);
    this.root.remove();
  }

  /** Opens or folds the legend (folded on a phone, where it would cover the map). */
  setOpen(open: boolean): void {
    this.open.value = open;
  }
}
