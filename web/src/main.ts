// Entry point: the page layout (header, side panel or bottom sheet, the map), the hash router
// between views, the language switch, and the test hook `window.__civmap`.

import './style.css';
import type { Map as MlMap } from 'maplibre-gl';
import { categories } from './api';
import type { Category } from './api';
import type { App, View } from './app';
import { clear, el } from './dom';
import { lang, setLang, t } from './i18n';
import type { Lang } from './i18n';
import { Legend } from './legend';
import { createMap, DEMO_VIEW, ProblemLayer, ZoneLayer } from './mapview';
import { filtersFromParams, toApiFilter } from './filters';
import type { BasemapKind } from './basemap';
import { formatMapParam, parseMapParam, readHash, replaceHash } from './url';
import { mountChief } from './views/chief';
import { mountOffice } from './views/office';
import { mountPublic } from './views/public';
import { mountReport } from './views/report';
import { mountRoutes } from './views/routes';

type Mount = (app: App) => View;

const VIEWS: Record<string, { mount: Mount; nav: () => string }> = {
  '': { mount: mountPublic, nav: () => t().navMap },
  report: { mount: mountReport, nav: () => t().navReport },
  chief: { mount: mountChief, nav: () => t().navChief },
  office: { mount: mountOffice, nav: () => t().navOffice },
  routes: { mount: mountRoutes, nav: () => t().navRoutes },
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
}

declare global {
  interface Window {
    __civmap?: TestHook;
  }
}

const PHONE = window.matchMedia('(max-width: 760px)');

function boot(): void {
  setLang(lang());
  const root = document.getElementById('app');
  if (!root) throw new Error('index.html has no #app element');

  const header = el('header', { class: 'topbar' });
  const panel = el('section', { class: 'panel', id: 'panel', 'aria-live': 'polite' });
  const sheetToggle = el('button', { type: 'button', class: 'sheet-handle', 'aria-expanded': 'true', 'aria-controls': 'panel' });
  const mapEl = el('div', { class: 'map', id: 'map' });
  const shell = el('div', { class: 'shell' }, el('aside', { class: 'side' }, sheetToggle, panel), mapEl);
  const banner = el('div', { class: 'banner', role: 'alert', hidden: true });
  clear(root);
  root.append(header, banner, shell);

  const hash = readHash();
  const start = parseMapParam(hash.params.get('map')) ?? DEMO_VIEW;
  const map = createMap(mapEl, start);
  let resolveReady: () => void = () => undefined;
  const hook: TestHook = { map, ready: new Promise((r) => (resolveReady = r)) };
  window.__civmap = hook;

  sheetToggle.addEventListener('click', () => {
    const collapsed = shell.classList.toggle('collapsed');
    sheetToggle.setAttribute('aria-expanded', collapsed ? 'false' : 'true');
    map.resize();
  });

  // The first problems are requested at once, in parallel with the categories and the style:
  // the public map is the page most people open, and its filters are in the URL already.
  const problems = new ProblemLayer(map, []);
  if (!hash.route) problems.setFilter(toApiFilter(filtersFromParams(hash.params, null)));

  const loaded = new Promise<void>((r) => map.once('load', () => r()));
  Promise.all([categories(), loaded])
    .then(([cats]) => startWith(cats))
    .catch((e: unknown) => {
      banner.hidden = false;
      banner.textContent = `${t().loadFailed}: ${e instanceof Error ? e.message : String(e)}`;
    });

  function startWith(cats: Category[]): void {
    problems.setCategories(cats);
    problems.install();
    const zones = new ZoneLayer(map);
    zones.install();
    const legend = new Legend(cats, !PHONE.matches);
    map.addControl(legend, 'top-left');
    void problems.addBasemap().then((k) => (hook.basemap = k));

    let resolveIdle: () => void = () => undefined;
    const app: App = {
      firstIdle: new Promise((r) => (resolveIdle = r)),
      map,
      problems,
      zones,
      cats,
      zonesReady: zones.load(),
      panel,
      hash: readHash(),
      syncUrl() {
        const c = map.getCenter();
        app.hash.params.set('map', formatMapParam(map.getZoom(), c.lng, c.lat));
        if (lang() === 'zh') app.hash.params.delete('lang');
        else app.hash.params.set('lang', lang());
        replaceHash(app.hash);
        updateNav();
      },
      refreshLegend() {
        legend.render(problems.state, problems.heat);
      },
    };
    hook.app = app;
    problems.subscribe(() => app.refreshLegend());
    map.on('moveend', () => app.syncUrl());

    // First render with points: the first idle map after the first load was handed to it.
    void problems.firstLoad.then(() =>
      map.once('idle', () => {
        hook.firstRenderMs = performance.now();
        resolveReady();
        resolveIdle();
      }),
    );

    let current: View | null = null;
    let currentRoute: string | null = null;

    /** Nav links carry the map position and the language to the other views. */
    function navHref(route: string): string {
      const q = new URLSearchParams();
      const m = app.hash.params.get('map');
      if (m) q.set('map', m);
      if (lang() !== 'zh') q.set('lang', lang());
      const qs = q.toString().replace(/%2F/gi, '/');
      return route ? `#/${route}${qs ? `?${qs}` : ''}` : `#${qs}`;
    }

    function updateNav(): void {
      for (const a of header.querySelectorAll<HTMLAnchorElement>('nav a')) {
        const route = a.dataset.route === 'map' ? '' : (a.dataset.route ?? '');
        a.href = navHref(route);
        a.classList.toggle('active', route === currentRoute);
        if (route === currentRoute) a.setAttribute('aria-current', 'page');
        else a.removeAttribute('aria-current');
      }
    }

    function renderHeader(): void {
      const d = t();
      clear(header);
      header.append(
        el('h1', { class: 'brand' }, el('span', { class: 'logo', 'aria-hidden': 'true' }, '◉'), d.appTitle),
        el('nav', { class: 'nav' }, ...Object.entries(VIEWS).map(([route, v]) => el('a', { href: navHref(route), 'data-route': route || 'map' }, v.nav()))),
        el(
          'button',
          {
            type: 'button',
            class: 'lang',
            lang: lang() === 'zh' ? 'en' : 'zh',
            onclick: () => {
              const next: Lang = lang() === 'zh' ? 'en' : 'zh';
              setLang(next);
              route(true);
            },
          },
          d.langSwitch,
        ),
      );
      updateNav();
    }

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
      if (!force && name === currentRoute && rest(h.params) === rest(app.hash.params)) return;
      current?.unmount();
      currentRoute = name;
      shell.dataset.view = name || 'map';
      app.hash = { route: name, params: h.params };
      document.title = `${VIEWS[name]?.nav() ?? ''} · ${t().appTitle}`;
      legend.render(problems.state, problems.heat);
      renderHeader();
      current = (VIEWS[name] ?? VIEWS['']!).mount(app);
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
