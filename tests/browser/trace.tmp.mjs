import { startServer, launchBrowser, openPage, waitForMap } from './support.mjs';
import { readFileSync } from 'node:fs';
const server = await startServer();
const browser = await launchBrowser();
{ const { page, context } = await openPage(browser, server.base); await page.goto(`${server.base}/`); await waitForMap(page); await context.close(); }
const { page, context } = await openPage(browser, server.base);
await browser.startTracing(page, { path: '/tmp/trace.json', categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'gpu', 'cc', 'viz', 'toplevel', 'blink', 'v8.execute'] });
await page.goto(`${server.base}/`);
await waitForMap(page);
const first = await page.evaluate(() => window.__civmap.firstRenderMs);
await browser.stopTracing();
console.log('first', first);
const t = JSON.parse(readFileSync('/tmp/trace.json', 'utf8'));
const ev = (t.traceEvents ?? t).filter((e) => e.ph === 'X' && e.dur);
const by = new Map();
for (const e of ev) { const k = `${e.name}`; const v = by.get(k) ?? { n: 0, d: 0 }; v.n++; v.d += e.dur; by.set(k, v); }
const rows = [...by.entries()].sort((a, b) => b[1].d - a[1].d).slice(0, 40);
for (const [k, v] of rows) console.log((v.d / 1000).toFixed(0).padStart(7), 'ms', String(v.n).padStart(6), k);
await context.close(); await browser.close(); await server.stop();
