// The set-up console's legend: the zone kinds and the coverage check with their colours, in the
// interface language. A MapLibre control whose content is a Preact component.

import { render } from 'preact';
import type { IControl } from 'maplibre-gl';
import { t } from '../i18n';
import { KIND_COLORS, ZONE_KINDS } from './setuplayer';

function ZoneLegendBody() {
  const d = t().setup;
  const rows: [string, string][] = [...ZONE_KINDS.map((k) => [k, d.kinds[k] ?? k] as [string, string]), ['uncovered', d.uncovered], ['overlap', d.overlap]];
  return (
    <details class="legend zone-legend" open>
      <summary>{d.legend}</summary>
      <ul class="legend-cats">
        {rows.map(([k, name]) => (
          <li key={k} data-kind={k}>
            <span class={`zone-swatch${k === 'grid_cell' ? ' outline' : ''}`} style={{ borderColor: KIND_COLORS[k], background: k === 'grid_cell' ? 'transparent' : KIND_COLORS[k] }} />
            <span class="legend-name">{name}</span>
          </li>
        ))}
      </ul>
    </details>
  );
}

export class ZoneLegend implements IControl {
  private readonly root: HTMLElement;

  constructor() {
    this.root = document.createElement('div');
    this.root.className = 'maplibregl-ctrl maplibregl-ctrl-group legend-ctrl zone-legend-ctrl';
    render(<ZoneLegendBody />, this.root);
  }

  onAdd(): HTMLElement {
    return this.root;
  }

  onRemove(): void {
    render(null, this.root);
    this.root.remove();
  }
}
