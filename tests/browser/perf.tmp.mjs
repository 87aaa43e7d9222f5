import { startServer, launchBrowser, openPage, waitForMap } from './support.mjs';
const server = await startServer();
const browser = await launchBrowser();
for (let i = 0; i < Number(process.env.RUNS ?? 3); i++) {
  const { page, context } = await openPage(browser, server.base);
  const t0 = Date.now();
  await page.goto(`${server.base}/`);
  await waitForMap(page);
  const r = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const marks = performance.getEntriesByType('mark').map((m) => `${m.name}=${m.startTime.toFixed(0)}`);
    const res = performance.getEntriesByType('resource').map((e) => `${e.name.replace(location.origin, '')} ${e.startTime.toFixed(0)}-${e.responseEnd.toFixed(0)}`);
    return { first: window.__civmap.firstRenderMs, dcl: nav.domContentLoadedEventEnd, marks, res };
  });
  console.log(`run ${i}: first ${r.first.toFixed(0)} ms, DCL ${r.dcl.toFixed(0)}; ${r.marks.join(' ')}`);
  if (process.env.RES) console.log(r.res.join('\n'));
  await context.close();
}
await browser.close();
await server.stop();
