// The public map (no login): filters, heat and zone toggles, the three-surroundings ranking, and
// a popup per problem. What it shows is what the API shows anonymous callers: no personal data,
// indoor problems at generalised positions.

import maplibregl from 'maplibre-gl';
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { getHistory } from '../api';
import type { Category, ProblemFeature } from '../api';
import type { ViewProps } from '../app';
import { FilterControls } from '../components/FilterControls';
import { ProblemCard } from '../components/ProblemCard';
import { POI_KINDS, RankingPanel } from '../components/RankingPanel';
import { StatusLine } from '../components/StatusLine';
import { t } from '../i18n';
import { useLoad, useProblemLayer, useUrlFilters } from '../hooks';

/** The popup's content: the card, and for a fixed problem its verified after-photo (the only photos the public sees). */
function Popup({ problem, cats }: { problem: ProblemFeature; cats: Category[] }) {
  const closed = problem.properties.status === 'closed';
  const [history] = useLoad(async () => (closed ? getHistory(problem.properties.id, false) : null), [problem.properties.id]);
  const photo = history.value?.public_photo;
  return (
    <ProblemCard problem={problem} cats={cats}>
      {photo && (
        <a href={photo} target="_blank" rel="noopener" class="public-photo">
          <img src={`${photo}?size=thumb`} alt={t().evidencePhoto} width={240} />
        </a>
      )}
    </ProblemCard>
  );
}

export function PublicView({ app }: ViewProps) {
  const d = t();
  const { map, problems, zones, cats } = app;
  const p = app.hash.params;
  const [filters, setFilters] = useUrlFilters(app);
  const [heat, setHeat] = useState(p.get('heat') === '1');
  const [showZones, setShowZones] = useState(p.get('zones') !== '0');

  const popup = useRef<maplibregl.Popup | null>(null);
  useProblemLayer(app, false, (f, at) => {
    popup.current?.remove();
    problems.select(f);
    const box = document.createElement('div');
    render(<Popup problem={f} cats={cats} />, box);
    popup.current = new maplibregl.Popup({ maxWidth: '300px', focusAfterOpen: false }).setLngLat(at).setDOMContent(box).addTo(map);
    popup.current.on('close', () => {
      render(null, box);
      problems.select(null);
    });
  });
  useEffect(() => () => popup.current?.remove(), []);

  useEffect(() => {
    void problems.setHeat(heat);
    if (heat) p.set('heat', '1');
    else p.delete('heat');
    app.syncUrl();
  }, [heat]);

  useEffect(() => {
    zones.setVisible(showZones);
    if (showZones) p.delete('zones');
    else p.set('zones', '0');
    app.syncUrl();
  }, [showZones]);

  const rank = p.get('rank');
  return (
    <>
      <h2 class="panel-title">{d.filters}</h2>
      <FilterControls cats={cats} value={filters} onChange={setFilters} />
      <div class="toggles">
        <label class="toggle">
          <input type="checkbox" name="heat" checked={heat} onChange={(e) => setHeat(e.currentTarget.checked)} />
          <span>{d.heat}</span>
        </label>
        <label class="toggle">
          <input type="checkbox" name="zones" checked={showZones} onChange={(e) => setShowZones(e.currentTarget.checked)} />
          <span>{d.zones}</span>
        </label>
      </div>
      <StatusLine layer={problems} />
      <RankingPanel
        app={app}
        initialKind={POI_KINDS.includes(rank as never) ? (rank as string) : 'school'}
        after={app.firstIdle}
        onKind={(k) => {
          if (k === 'school') p.delete('rank');
          else p.set('rank', k);
          app.syncUrl();
        }}
      />
    </>
  );
}
