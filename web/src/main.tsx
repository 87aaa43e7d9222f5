// Entry point: the page layout (header, side panel or bottom sheet, the map), the hash router
// between views, the language switch, and the test hook `window.__civmap`. The map is made here,
// once; the header, banner and panel are Preact components.

import './style.css';
import { signal } from '@preact/signals';
import { render } from 'preact';
import type { FunctionComponent } from 'preact';
import type { Map as MlMap } from 'maplibre-gl';
import { categories, zones as fetchZones } from './api';
import type { Category } from './api';
import type { App, ViewProps } from './app';
import { Banner, bannerError } from './components/Banner';
import { Header } from './components/Header';
import { filtersFromParams, toApiFilter } from './filters';
import { lang, setLang, t } from './i18n';
import type { Dict } from './i18n';
import { prefetchStyle } from './map/basemap';
import type { BasemapKind } from './map/basemap';
import { Legend } from './map/legend';
import { createMap, DEMO_VIEW, holdFirstDraw, POINTS_MIN_ZOOM, ProblemLayer, PUBLIC_POINTS_MIN_ZOOM, ZoneLayer } from './map/mapview';
import { reconnects, watchConnection } from './connection';
import { offlineReadyPromise, registerServiceWorker, warmFor } from './offline';
import { startOutbox } from './outbox';
import { loadSession, session } from './session';
import { formatMapParam, parseMapParam, readHash, replaceHash } from './url';
import { lazyView } from './lazy';
import { PublicView } from './views/public';

/** The views by route, with their name in the navigation; all but the public map load on first use. */
export const VIEWS: Record<string, { view: FunctionComponent<ViewProps>; nav: (d: Dict) => string }> = {
  '': { view: PublicView, nav: (d) => d.nav.map },
  report: { view: lazyView(() => import('./views/report').then((m) => m.ReportView)), nav: (d) => d.nav.report },
  chief: { view: lazyView(() => import('./views/chief').then((m) => m.ChiefView)), nav: (d) => d.nav.chief },
  office: { view: lazyView(() => import('./views/office').then((m) => m.OfficeView)), nav: (d) => d.nav.office },
  routes: { view: lazyView(() => import('./views/routes').then((m) => m.RoutesView)), nav: (d) => d.nav.routes },
  setup: { view: lazyView(() => import('./views/setup').then((m) => m.SetupView)), nav: (d) => d.nav.setup },
  inspect: { view: lazyView(() => import('./views/inspect').then((m) => m.InspectView)), nav: (d) => d.nav.inspect },
};

/** What browser tests read (`window.__civmap`). */
interface TestHook {
  map: MlMap;
  app?: App;
  /** Resolves once problems were loaded and drawn for the first time. */
  ready: Promise<void>;
  /** `performance.now()` (ms since navigation) of the first idle map with problems drawn. */
  firstRenderMs?: number;
  basemap?: BasemapKind;
  /** Resolves once the signed-in person's map is cached for use without a network. */
  offlineReady: Promise<void>;
}

declare global {
  interface Window {
    __civmap?: TestHook;
  }
}

const PHONE = window.matchMedia('(max-width: 760px)');
/** Whose map is cached on sign-in: the people who work in the field. */
const FIELD_ROLES = new Set(['reporter', 'point_chief', 'road_chief', 'area_chief']);

/** The view shown: its route, and a key that changes whenever it must be mounted afresh. */
const shown = signal<{ route: string; key: number }>({ route: '', key: 0 });
/** `map=zoom/lat/lon` of the current view, carried by the navigation links. */
const mapParam = signal<string | null>(null);

function Panel({ app }: { app: App | null }) {
  if (!app) return null;
  const { route, key } = shown.value;
  const View = (VIEWS[route] ?? VIEWS['']!).view;
  return <View key={key} app={app} />;
}

function boot(): void {
  // Performance marks of the first render (read by the browser tests and the DevTools timeline):
  // boot, the map's style loaded, the categories and map ready, problems handed to the map,
  // the basemap added, the first idle map.
  performance.mark('civmap:boot');
  setLang(lang());
  const root = document.getElementById('app');
  if (!root) throw new Error('index.html has no #app element');
  root.replaceChildren();
  const header = document.createElement('header');
  header.className = 'topbar';
  const bannerSlot = document.createElement('div');
  const shell = document.createElement('div');
  shell.className = 'shell';
  const side = document.createElement('aside');
  side.className = 'side';
  const sheetToggle = document.createElement('button');
  Object.assign(sheetToggle, { type: 'button', className: 'sheet-handle' });
  sheetToggle.setAttribute('aria-expanded', 'true');
  sheetToggle.setAttribute('aria-controls', 'panel');
  const panel = document.createElement('section');
  Object.assign(panel, { className: 'panel', id: 'panel' });
  panel.setAttribute('aria-live', 'polite');
  const mapEl = document.createElement('div');
  Object.assign(mapEl, { className: 'map', id: 'map' });
  side.append(sheetToggle, panel);
  shell.append(side, mapEl);
  root.append(header, bannerSlot, shell);
  render(<Banner />, bannerSlot);

  // What needs no map is asked for before the map exists: creating its WebGL context takes
  // 100–200 ms where WebGL is drawn in software, and these requests waited behind it. The
  // basemap's style and tiles load while the problems do, so the first complete map needs
  // fewer redraws (each costs a full frame); the three-surroundings zones, asked for only after
  // the categories and the empty map, arrived last and cost another redraw.
  void prefetchStyle();
  const firstCategories = categories();
  firstCategories.catch(() => undefined);
  const firstZones = fetchZones('surroundings', false);
  firstZones.catch(() => undefined);

  const hash = readHash();
  const start = parseMapParam(hash.params.get('map')) ?? DEMO_VIEW;
  const map = createMap(mapEl, start);
  // The map draws once its first data is there, not once per wave of tiles (`holdFirstDraw`).
  let firstData: (p: Promise<unknown>) => void = () => undefined;
  const drawing = holdFirstDraw(map, new Promise<unknown>((r) => (firstData = r)));
  let basemapDone: () => void = () => undefined;
  const basemapAdded = new Promise<void>((r) => (basemapDone = r));
  let resolveReady: () => void = () => undefined;
  const hook: TestHook = { map, ready: new Promise((r) => (resolveReady = r)), offlineReady: offlineReadyPromise };
  window.__civmap = hook;

  sheetToggle.addEventListener('click', () => {
    const collapsed = shell.classList.toggle('collapsed');
    sheetToggle.setAttribute('aria-expanded', collapsed ? 'false' : 'true');
    map.resize();
  });

  // The first problems are requested at once, in parallel with the categories and the style:
  // the public map is the page most people open, and its filters are in the URL already.
  const problems = new ProblemLayer(map, []);
  problems.setClusterMaxZoom((hash.route ? POINTS_MIN_ZOOM : PUBLIC_POINTS_MIN_ZOOM) - 1);
  if (!hash.route) problems.setFilter(toApiFilter(filtersFromParams(hash.params, null)));
  // Who is signed in, asked once (only if this browser signed in before).
  void loadSession();

  const loaded = new Promise<void>((r) =>
    map.once('load', () => {
      performance.mark('civmap:map-load');
      void problems.addBasemap().then((k) => {
        performance.mark('civmap:basemap');
        hook.basemap = k;
        basemapDone();
      });
      r();
    }),
  );
  watchConnection();
  // After the first complete map, as Workbox advises: the precache downloads every asset again,
  // which at boot competed with the first render for the network and the CPU.
  void hook.ready.then(registerServiceWorker);
  // What was made without a connection is sent now, and whenever the connection may be back.
  void startOutbox();
  let started = false;
  Promise.all([firstCategories, loaded])
    .then(([cats]) => {
      performance.mark('civmap:started');
      started = true;
      startWith(cats);
    })
    .catch((e: unknown) => (bannerError.value = e));
  // The server is back: a page that could not start starts afresh; a running one reloads its
  // problems (the views reload what they loaded themselves).
  reconnects.subscribe((n) => {
    if (n === 0) return;
    if (!started) window.location.reload();
    else void problems.reload(true);
  });

  function startWith(cats: Category[]): void {
    problems.setCategories(cats);
    problems.install();
    const zones = new ZoneLayer(map);
    zones.install();
    const zonesReady = zones.load('surroundings', false, firstZones);
    firstData(Promise.all([problems.firstLoad, zonesReady, basemapAdded]));
    const legend = new Legend(problems, cats, !PHONE.matches);
    map.addControl(legend, 'top-left');

    let resolveIdle: () => void = () => undefined;
    const app: App = {
      firstIdle: new Promise((r) => (resolveIdle = r)),
      map,
      problems,
      zones,
      cats,
      zonesReady,
      hash: readHash(),
      syncUrl() {
        const c = map.getCenter();
        app.hash.params.set('map', formatMapParam(map.getZoom(), c.lng, c.lat));
        if (lang() === 'zh') app.hash.params.delete('lang');
        else app.hash.params.set('lang', lang());
        replaceHash(app.hash);
        mapParam.value = app.hash.params.get('map');
      },
    };
    hook.app = app;
    // The field app: a reporter's or chief's map is cached for use without a network.
    session.subscribe((me) => {
      if (me && FIELD_ROLES.has(me.role)) void warmFor(me, map);
    });
    map.on('moveend', () => app.syncUrl());

    // First render with points: the first idle map after the first load was handed to it and
    // drawn (the map draws nothing until then, `holdFirstDraw`).
    void drawing.then(() =>
      map.once('idle', () => {
        performance.mark('civmap:first-idle');
        hook.firstRenderMs = performance.now();
        resolveReady();
        resolveIdle();
      }),
    );

    const switchLang = () => {
      setLang(lang() === 'zh' ? 'en' : 'zh');
      route(true);
    };
    render(<Header views={VIEWS} route={() => shown.value.route} mapParam={mapParam} onLang={switchLang} />, header);
    render(<Panel app={app} />, panel);

    function route(force = false): void {
      const h = readHash();
      const name = h.route in VIEWS ? h.route : '';
      const want = parseMapParam(h.params.get('map'));
      if (want) {
        const c = map.getCenter();
        const far = Math.abs(c.lng - want.lon) > 1e-5 || Math.abs(c.lat - want.lat) > 1e-5 || Math.abs(map.getZoom() - want.zoom) > 0.01;
        if (far) map.jumpTo({ center: [want.lon, want.lat], zoom: want.zoom });
      }
      const urlLang = h.params.get('lang');
      if (!force && (urlLang === 'en' || urlLang === 'zh') && urlLang !== lang()) {
        setLang(urlLang);
        force = true;
      }
      // Same view and the same state apart from the map position: nothing to redo.
      const rest = (q: URLSearchParams) => {
        const c = new URLSearchParams(q);
        c.delete('map');
        c.sort();
        return c.toString();
      };
      if (!force && name === shown.value.route && rest(h.params) === rest(app.hash.params)) return;
      shell.dataset.view = name || 'map';
      app.hash = { route: name, params: h.params };
      document.title = `${(VIEWS[name] ?? VIEWS['']!).nav(t())} · ${t().appTitle}`;
      shown.value = { route: name, key: shown.value.key + 1 };
      app.syncUrl();
    }

    window.addEventListener('hashchange', () => route());
    PHONE.addEventListener('change', () => {
      legend.setOpen(!PHONE.matches);
      map.resize();
    });
    route(true);
  }
}

boot();
