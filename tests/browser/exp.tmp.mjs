import { startServer, launchBrowser, openPage, waitForMap } from './support.mjs';
const server = await startServer();
const browser = await launchBrowser();
const variants = {
  full: [],
  noBuildings: ['buildings'],
  noLabels: ['road-labels', 'poi-labels'],
  noCasing: ['roads-casing'],
  noBasemap: ['buildings', 'road-labels', 'poi-labels', 'roads-casing', 'green', 'water', 'waterway', 'pois', 'roads'],
};
const res = {};
for (let round = 0; round < 3; round++) {
  for (const [name, drop] of Object.entries(variants)) {
    const { page, context } = await openPage(browser, server.base);
    await page.route('**/tiles/style.json*', async (route) => {
      const r = await route.fetch();
      const s = await r.json();
      s.layers = s.layers.filter((l) => !drop.includes(l.id));
      await route.fulfill({ response: r, json: s });
    });
    await page.goto(`${server.base}/`);
    await waitForMap(page);
    const first = await page.evaluate(() => window.__civmap.firstRenderMs);
    (res[name] ??= []).push(Math.round(first));
    await context.close();
  }
}
console.log(JSON.stringify(res));
await browser.close(); await server.stop();
