// Benchmark, not a test (the suite runs `*.test.mjs` only): the public map's first render over N
// cold loads, each in a fresh browser context against one demo server — the same figure as
// map.test.mjs's (`window.__civmap.firstRenderMs`, navigation start to the first idle map with
// problems drawn), with the page's performance marks beside it, and the requests of the first load.
//
//   cd tests/browser && N=6 node first_render_probe.mjs      (after `cargo build -p civmap` and
//                                                             `npm run build` in web/)
import { DESKTOP, launchBrowser, startServer } from './support.mjs';

const server = await startServer();
const browser = await launchBrowser();
const times = [];
for (let i = 0; i < Number(process.env.N ?? 6); i++) {
  const context = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(`${server.base}/`);
  await page.waitForFunction(() => window.__civmap?.firstRenderMs !== undefined, null, { timeout: 30_000 });
  const r = await page.evaluate(() => ({
    first: window.__civmap.firstRenderMs,
    marks: performance.getEntriesByType('mark').map((m) => `${m.name.replace('civmap:', '')}@${m.startTime.toFixed(0)}`),
    requests: performance
      .getEntriesByType('resource')
      .map((e) => `${e.name.replace(location.origin, '').slice(0, 70)} ${e.startTime.toFixed(0)}–${e.responseEnd.toFixed(0)} ms (${e.transferSize} B)`),
  }));
  times.push(r.first);
  console.log(`load ${i}: first render ${r.first.toFixed(0)} ms; marks ${r.marks.join(' ')}`);
  if (i === 0) for (const l of r.requests) console.log(`    ${l}`);
  await context.close();
}
times.sort((a, b) => a - b);
console.log(`first render over ${times.length} loads: ${times[0].toFixed(0)}–${times.at(-1).toFixed(0)} ms, median ${times[Math.floor(times.length / 2)].toFixed(0)} ms`);
await browser.close();
await server.stop();
