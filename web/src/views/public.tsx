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
import { LAYERS, POINTS_MIN_ZOOM, PUBLIC_POINTS_MIN_ZOOM } from '../map/mapview';

/** On a phone the popup always opens above the problem (it was brought to the map's lower part). */
const PHONE_ANCHOR = () => (window.matchMedia('(max-width: 760px)').matches ? ('bottom' as const) : undefined);

/** The case number and place of a problem (empty before the server gives them). */
function caseAndPlace(problem: ProblemFeature): { caseNo: string; place: string } {
  const p = problem.properties as ProblemFeature['properties'] & { case_no?: string; place?: string };
  return { caseNo: p.case_no ?? '', place: p.place ?? '' };
}

/** The problem's own page, as a full URL to paste into WeChat. */
export function pageUrl(caseNo: string): string {
  return new URL(`/p/${encodeURIComponent(caseNo)}`, location.origin).href;
}

/** "分享": copies the page's link and shows it (long-press to copy where the clipboard is refused). A problem without a case number is linked by its id (`/p/{id}` answers with its case's page). */
function ShareLink({ caseNo }: { caseNo: string }) {
  const d = t();
  const [shown, setShown] = useState<'' | 'copied' | 'manual'>('');
  const url = pageUrl(caseNo);
  const share = async () => {
    try {
      await navigator.clipboard.writeText(url);
      setShown('copied');
    } catch {
      setShown('manual');
    }
  };
  return (
    <div class="share">
      <button type="button" class="share-button" onClick={() => void share()}>
        {d.share}
      </button>
      <a class="page-link" href={url} target="_blank" rel="noopener">
        {d.openPage}
      </a>
      {shown && (
        <p class="share-result">
          <span class="note">{shown === 'copied' ? d.shareCopied : d.shareCopy}</span>
          <a class="share-url" href={url}>
            {url}
          </a>
        </p>
      )}
    </div>
  );
}

/** The popup's content: case number and place, the card, for a fixed problem its verified after-photo (the only photos the public sees), and the link to share. */
function Popup({ problem, cats }: { problem: ProblemFeature; cats: Category[] }) {
  const d = t();
  const closed = problem.properties.status === 'closed';
  const [history] = useLoad(async () => (closed ? getHistory(problem.properties.id, false) : null), [problem.properties.id]);
  const photo = history.value?.public_photo;
  const { caseNo, place } = caseAndPlace(problem);
  const [lon, lat] = problem.geometry.coordinates as [number, number];
  return (
    <ProblemCard
      problem={problem}
      cats={cats}
      caseRows={false}
      lead={
        <>
          <div class="kv place">
            <span class="k">{d.place}</span>
            <span class="v">{place || `${lat.toFixed(5)}, ${lon.toFixed(5)}`}</span>
          </div>
          <div class="kv case-no">
            <span class="k">{d.caseNo}</span>
            <span class="v">{caseNo || '—'}</span>
          </div>
          <ShareLink caseNo={caseNo || problem.properties.id} />
        </>
      }
    >
      {photo && (
        <a href={photo} target="_blank" rel="noopener" class="public-photo">
          <img src={`${photo}?size=thumb`} alt={t().evidencePhoto} width={240} />
        </a>
      )}
    </ProblemCard>
  );
}

/** A zone's popup: its name and its feed. */
function ZonePopup({ name, id }: { name: string; id: string }) {
  const d = t();
  return (
    <div class="zone-popup">
      <strong>{name}</strong>
      <a class="feed-link" href={`/feeds/zones/${encodeURIComponent(id)}.atom`} type="application/atom+xml">
        {d.subscribeZone}
      </a>
    </div>
  );
}

/** The Atom feed of the view's box (rounded, so small pans keep the same address). */
function areaFeed(map: maplibregl.Map): string {
  const b = map.getBounds();
  const box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(4)).join(',');
  return `/feeds/area.atom?bbox=${box}`;
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
    // On a phone the map is short: bring the problem to its lower part so the card above it fits.
    if (window.matchMedia('(max-width: 760px)').matches) map.panTo(at, { offset: [0, map.getContainer().clientHeight * 0.4], duration: 0 });
    popup.current = new maplibregl.Popup({ maxWidth: '300px', focusAfterOpen: false, anchor: PHONE_ANCHOR() }).setLngLat(at).setDOMContent(box).addTo(map);
    popup.current.on('close', () => {
      render(null, box);
      problems.select(null);
    });
  });
  useEffect(() => () => popup.current?.remove(), []);

  // Clustered further in than the consoles: the opening view shows the street, not ~600 dots.
  useEffect(() => {
    problems.setClusterMaxZoom(PUBLIC_POINTS_MIN_ZOOM - 1);
    return () => problems.setClusterMaxZoom(POINTS_MIN_ZOOM - 1);
  }, []);

  // A click on a zone away from any problem: its name and its feed.
  useEffect(() => {
    const onClick = (e: maplibregl.MapMouseEvent) => {
      if (!map.getLayer(LAYERS.zonesFill) || map.getLayoutProperty(LAYERS.zonesFill, 'visibility') === 'none') return;
      const onProblem = map.queryRenderedFeatures(e.point, { layers: [LAYERS.points, LAYERS.clusters] });
      if (onProblem.length > 0) return;
      const zone = map.queryRenderedFeatures(e.point, { layers: [LAYERS.zonesFill] })[0];
      const id = zone?.properties?.id as string | undefined;
      if (!zone || !id) return;
      popup.current?.remove();
      const box = document.createElement('div');
      render(<ZonePopup name={String(zone.properties.name ?? '')} id={id} />, box);
      popup.current = new maplibregl.Popup({ maxWidth: '280px', focusAfterOpen: false }).setLngLat(e.lngLat).setDOMContent(box).addTo(map);
      popup.current.on('close', () => render(null, box));
    };
    map.on('click', onClick);
    return () => {
      map.off('click', onClick);
    };
  }, []);

  // The feed of the current view, kept up to date as the map moves.
  const [feed, setFeed] = useState(() => areaFeed(map));
  useEffect(() => {
    const onMove = () => setFeed(areaFeed(map));
    map.on('moveend', onMove);
    return () => {
      map.off('moveend', onMove);
    };
  }, []);

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
      <p class="subscribe">
        <a class="feed-link area-feed" href={feed} type="application/atom+xml" title={d.subscribeAreaHint}>
          {d.subscribeArea}
        </a>
      </p>
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
