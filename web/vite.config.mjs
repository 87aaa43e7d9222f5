// @ts-check
import { defineConfig } from 'vite';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { VitePWA } from 'vite-plugin-pwa';

/**
 * Writes `NAME.gz` beside every script and style sheet, compressed at level 9 once at build time:
 * the server sends it to browsers that accept gzip (instead of compressing on every request at
 * its fastest level, which shipped ~40% more bytes).
 * @type {import('vite').Plugin}
 */
const precompress = {
  name: 'civmap-precompress',
  apply: 'build',
  enforce: 'post',
  // From the files as written, after every other plugin's last word: in `generateBundle` a
  // chunk's code may still hold placeholders Vite fills in later (`__VITE_PRELOAD__`), and the
  // lazily loaded chunks (terra-draw) failed from the compressed copy.
  writeBundle(options, bundle) {
    const dir = options.dir ?? 'dist';
    for (const name of Object.keys(bundle)) {
      if (!/\.(js|css)$/.test(name)) continue;
      const file = join(dir, name);
      writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: 9 }));
    }
  },
};

// The server serves web/dist at `/`; `base: './'` keeps asset URLs relative so the same build
// also works behind a reverse proxy under a sub-path.
// `npm run dev` proxies the API to a running `civmap serve` (CIVMAP_URL, default port 8080).
const target = process.env.CIVMAP_URL ?? 'http://127.0.0.1:8080';

/** How long cached tiles are kept, and how many: a chief's zones at z14–16 are a few hundred. */
const TILE_MAX_AGE_S = 30 * 24 * 3600;
const TILE_MAX_ENTRIES = 3000;
/** API answers kept for the page to open offline (the last answer of each list and zone). */
const API_MAX_ENTRIES = 300;
const API_MAX_AGE_S = 7 * 24 * 3600;
/**
 * Marks an API answer taken from the cache (the network failed): `request()` then knows the
 * server did not answer (`FROM_CACHE_HEADER` in src/api/client.ts). Serialised into the worker.
 * @type {import('workbox-core').WorkboxPlugin}
 */
const markCached = {
  cachedResponseWillBeUsed: async ({ cachedResponse }) => {
    if (!cachedResponse) return cachedResponse;
    const headers = new Headers(cachedResponse.headers);
    headers.set('x-civmap-from-cache', '1');
    return new Response(await cachedResponse.blob(), { status: cachedResponse.status, statusText: cachedResponse.statusText, headers });
  },
};

/**
 * The installable field app (issue 17): the manifest and a Workbox service worker that
 * precaches the app shell and caches at run time what the map needs to open without a network —
 * the style, basemap tiles (cache first: they change only with an import), problem, zone and
 * heat tiles and the API's reads (network first: the newest when there is a network, the last
 * one seen when there is not). Writes are never cached; the outbox (`src/outbox.ts`) keeps them.
 * Server pages (`/p/…`, `/feeds`, `/docs`) are not the app and are left to the network.
 */
const pwa = VitePWA({
  // Registered by src/main.tsx in production builds only (what the binary serves).
  injectRegister: false,
  // The manifest's icons are in `public/`, precached by the glob below already.
  includeManifestIcons: false,
  registerType: 'autoUpdate',
  manifest: {
    name: '创文问题地图',
    short_name: '创文地图',
    description: '街道文明创建问题点位的上报、整改与巡查（无信号时也能用）',
    lang: 'zh-CN',
    start_url: './#report',
    scope: './',
    display: 'standalone',
    background_color: '#ffffff',
    theme_color: '#1e3a5f',
    icons: [
      { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png' },
      { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png' },
      { src: 'icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
    ],
  },
  workbox: {
    globPatterns: ['**/*.{js,css,html,png,webmanifest}'],
    // The precompressed copies are the server's business, not the cache's.
    globIgnores: ['**/*.gz'],
    navigateFallback: 'index.html',
    // Only the app's own page: server-rendered pages and APIs go to the network.
    navigateFallbackAllowlist: [/^\/$/, /^\/index\.html$/],
    cleanupOutdatedCaches: true,
    clientsClaim: true,
    skipWaiting: true,
    runtimeCaching: [
      {
        urlPattern: ({ url }) => url.pathname === '/tiles/style.json',
        handler: 'StaleWhileRevalidate',
        options: { cacheName: 'civmap-style' },
      },
      {
        urlPattern: ({ url }) => /^\/tiles\/basemap\/\d+\/\d+\/\d+\.mvt$/.test(url.pathname),
        handler: 'CacheFirst',
        options: {
          cacheName: 'civmap-basemap',
          expiration: { maxEntries: TILE_MAX_ENTRIES, maxAgeSeconds: TILE_MAX_AGE_S },
          cacheableResponse: { statuses: [200, 204] },
        },
      },
      {
        urlPattern: ({ url }) => url.pathname.startsWith('/tiles/'),
        handler: 'NetworkFirst',
        options: {
          cacheName: 'civmap-tiles',
          expiration: { maxEntries: TILE_MAX_ENTRIES, maxAgeSeconds: TILE_MAX_AGE_S },
          cacheableResponse: { statuses: [200, 204] },
        },
      },
      {
        // Reads of the API, but not the live stream (an event stream is not an answer to keep).
        urlPattern: ({ url }) => url.pathname.startsWith('/api/v1/') && !url.pathname.endsWith('/stream'),
        handler: 'NetworkFirst',
        options: {
          cacheName: 'civmap-api',
          plugins: [markCached],
          expiration: { maxEntries: API_MAX_ENTRIES, maxAgeSeconds: API_MAX_AGE_S },
          cacheableResponse: { statuses: [200] },
        },
      },
    ],
  },
});

export default defineConfig({
  base: './',
  plugins: [pwa, precompress],
  // Views are Preact components written in TSX; esbuild compiles the JSX (no plugin needed).
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      '/api': target,
      '/tiles': target,
      '/ogc': target,
    },
  },
});
