// Helpers of the browser tests: start the real `civmap serve` on 127.0.0.1:0 with the demo data,
// launch Debian's chromium through playwright-core, watch a page for console errors and for
// requests that leave the server, read the map's rendered features, and keep screenshots.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '../..');
export const ARTIFACTS = join(ROOT, 'tests/artifacts');
export const WEB_DIST = join(ROOT, 'web/dist');

/**
 * The civmap binary: `CIVMAP_TEST_BIN`, else the debug build of the workspace. (Variables named
 * `CIVMAP_TEST_*` are ignored by the server's configuration, which rejects unknown `CIVMAP_*`.)
 */
export function civmapBinary() {
  const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, 'target');
  return process.env.CIVMAP_TEST_BIN ?? join(target, 'debug', 'civmap');
}

/** Debian's chromium (or `CHROMIUM`). */
export function chromiumPath() {
  return process.env.CHROMIUM ?? '/usr/bin/chromium';
}

/**
 * Starts `civmap serve --demo` on a free port with the SQLite file `demo.db` in `dir` (a fresh
 * temporary directory unless given: a restart keeps the data), the configuration text `config`
 * and the built front end; resolves `{base, stop(keep), log, dir}` once it logs
 * `listening on http://...` (at most 180 s: the demo import of the OpenStreetMap extract runs first).
 */
export async function startServer({ args = [], env = {}, config = null, dir = null, addr = '127.0.0.1:0' } = {}) {
  // Against a server started by hand (front-end development): nothing to start or stop.
  if (process.env.CIVMAP_TEST_BASE) return { base: process.env.CIVMAP_TEST_BASE.replace(/\/$/, ''), stop: async () => undefined, log: [], dir: null, external: true };
  const bin = civmapBinary();
  if (!existsSync(bin)) throw new Error(`no civmap binary at ${bin}: run \`cargo build -p civmap\` first`);
  if (!existsSync(join(WEB_DIST, 'index.html'))) throw new Error(`no ${WEB_DIST}/index.html: run \`npm run build\` in web/ first`);
  dir ??= mkdtempSync(join(tmpdir(), 'civmap-browser-'));
  const fullArgs = ['serve', '--demo', '--addr', addr, '--db', `sqlite://${join(dir, 'demo.db')}`, '--web-dir', WEB_DIST];
  const childEnv = { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info', ...env };
  delete childEnv.CIVMAP_CONFIG;
  if (config !== null) {
    const path = join(dir, 'civmap.toml');
    writeFileSync(path, config);
    fullArgs.push('--config', path);
  }
  fullArgs.push(...args);
  const child = spawn(bin, fullArgs, { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  const base = await new Promise((resolveBase, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`civmap did not start in 180 s:\n${log.join('\n')}`));
    }, 180_000);
    const onLine = (line) => {
      log.push(line);
      const m = /listening on (http:\/\/[^\s"]+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolveBase(m[1].replace(/\/$/, ''));
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
    }
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`civmap exited (${code ?? signal}) before listening:\n${log.join('\n')}`));
    });
  });
  /** Stops the server (SIGTERM, then SIGKILL after 10 s); deletes its directory unless `keep`. */
  const stop = async (keep = false) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  return { base, stop, log, dir };
}

/** Launches headless chromium with the flags that work in a container without a GPU. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader', '--use-angle=swiftshader', '--disable-background-networking'],
  });
}

export const DESKTOP = { width: 1366, height: 860 };
export const PHONE = { width: 390, height: 844 };

/**
 * A new page that records console errors, uncaught exceptions, failed requests and any request
 * to somewhere other than the server (nothing may come from the internet).
 */
export async function openPage(browser, base, { viewport = DESKTOP, locale = 'zh-CN', geolocation = null } = {}) {
  const context = await browser.newContext({
    viewport,
    locale,
    deviceScaleFactor: 1,
    isMobile: viewport.width < 700,
    hasTouch: viewport.width < 700,
    ...(geolocation ? { geolocation, permissions: ['geolocation'] } : {}),
  });
  const page = await context.newPage();
  const problems = { consoleErrors: [], pageErrors: [], failedRequests: [], foreignRequests: [], httpErrors: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') problems.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => problems.pageErrors.push(String(e)));
  page.on('requestfailed', (r) => problems.failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('blob:')) problems.foreignRequests.push(u);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.httpErrors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  return { page, context, problems };
}

/** Waits until the app loaded its first problems and the map went idle. */
export async function waitForMap(page) {
  await page.waitForFunction(() => window.__civmap && window.__civmap.firstRenderMs !== undefined, null, { timeout: 60_000 });
  await waitIdle(page);
}

/** Waits for the map to finish rendering (tiles, sources and transitions). */
export function waitIdle(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        const map = window.__civmap.map;
        // `idle` fires only after a render; ask for one so an already idle map answers too.
        map.once('idle', () => resolve(true));
        map.triggerRepaint();
      }),
  );
}

/** Features rendered in `layers` (via MapLibre's queryRenderedFeatures), as plain objects. */
export function renderedFeatures(page, layers) {
  return page.evaluate((layers) => {
    const map = window.__civmap.map;
    const present = layers.filter((l) => map.getLayer(l));
    return map.queryRenderedFeatures({ layers: present }).map((f) => ({
      layer: f.layer.id,
      id: f.properties.id ?? null,
      properties: f.properties,
      geometry: f.geometry.type === 'Point' ? f.geometry.coordinates : null,
    }));
  }, layers);
}

/**
 * Reads the map's drawing buffer during the next frame (before it is presented, so no
 * `preserveDrawingBuffer` is needed) and keeps it under `window.__pixels[key]`; answers its size.
 */
export function grabPixels(page, key) {
  return page.evaluate(
    (key) =>
      new Promise((resolve) => {
        const map = window.__civmap.map;
        map.once('render', () => {
          const canvas = map.getCanvas();
          const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
          const w = gl.drawingBufferWidth;
          const h = gl.drawingBufferHeight;
          const px = new Uint8Array(w * h * 4);
          gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
          window.__pixels = window.__pixels ?? {};
          window.__pixels[key] = px;
          resolve({ w, h });
        });
        map.triggerRepaint();
      }),
    key,
  );
}

/** Share of pixels whose colour differs by more than `threshold` (sum of |ΔRGB|) between two grabs. */
export function pixelDifference(page, a, b, threshold = 60) {
  return page.evaluate(
    ({ a, b, threshold }) => {
      const p = window.__pixels[a];
      const q = window.__pixels[b];
      let diff = 0;
      for (let i = 0; i < p.length; i += 4) {
        if (Math.abs(p[i] - q[i]) + Math.abs(p[i + 1] - q[i + 1]) + Math.abs(p[i + 2] - q[i + 2]) > threshold) diff++;
      }
      return diff / (p.length / 4);
    },
    { a, b, threshold },
  );
}

/** Saves a screenshot under tests/artifacts/ and answers its path. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** Projects `[lon, lat]` to page coordinates of the map canvas. */
export function toPage(page, lonlat) {
  return page.evaluate((ll) => {
    const map = window.__civmap.map;
    const p = map.project(ll);
    const r = map.getCanvas().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, lonlat);
}

// ---- a real PNG photo, made here so no binary fixture is needed ----------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A `w`×`h` RGB PNG: a brown "pile" on a grey "pavement" (valid PNG, decodable by any browser). */
export function makePng(w = 320, h = 240) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0; // filter: none
    for (let x = 0; x < w; x++) {
      const i = y * (w * 3 + 1) + 1 + x * 3;
      const pile = (x - w / 2) ** 2 / (w / 4) ** 2 + (y - h * 0.65) ** 2 / (h / 4) ** 2 < 1;
      raw[i] = pile ? 140 : 170;
      raw[i + 1] = pile ? 90 : 170;
      raw[i + 2] = pile ? 50 : 165;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** GETs JSON from the server (optionally with a staff token). */
export async function getJson(base, path, token = null) {
  const r = await fetch(base + path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

/** A password session made the way the page makes it: the cookie and the CSRF token. */
export async function apiSession(base, password, name) {
  const r = await fetch(`${base}/api/v1/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, password }),
  });
  const signedIn = await r.text();
  assert.equal(r.status, 200, signedIn);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = JSON.parse(signedIn);
  const call = async (method, path, body) => {
    const headers = { Cookie: cookie };
    if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
    if (body !== undefined) headers['Content-Type'] = typeof body === 'string' ? 'application/json' : 'image/png';
    const resp = await fetch(base + path, { method, headers, body });
    const text = await resp.text();
    assert.ok(resp.ok, `${method} ${path}: ${resp.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return {
    get: (path) => call('GET', path),
    post: (path, json) => call('POST', path, JSON.stringify(json)),
    photo: (bytes) => call('POST', '/api/v1/photos', bytes),
  };
}

/** How many items the page's outbox holds (its IndexedDB store; `page.evaluate` waits for the answer). */
export function outboxCount(page, { name = 'civmap-outbox', store = 'items' } = {}) {
  return page.evaluate(
    ({ name, store }) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const n = open.result.transaction(store).objectStore(store).count();
          n.onsuccess = () => resolve(n.result);
        };
      }),
    { name, store },
  );
}
