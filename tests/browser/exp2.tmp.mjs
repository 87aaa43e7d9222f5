import { startServer, launchBrowser, openPage, waitForMap } from './support.mjs';
const server = await startServer();
const browser = await launchBrowser();
const variants = {
  full: async () => {},
  noZones: async (page) => page.route('**/api/v1/zones?*', (r) => r.fulfill({ json: { type: 'FeatureCollection', features: [] } })),
  noPoiLabels: async (page) => page.route('**/tiles/style.json*', async (route) => { const r = await route.fetch(); const s = await r.json(); s.layers = s.layers.filter((l) => l.id !== 'poi-labels'); await route.fulfill({ response: r, json: s }); }),
  noBasemapTiles: async (page) => page.route('**/tiles/basemap/**', (r) => r.fulfill({ status: 204 })),
};
const res = {};
for (let round = 0; round < 3; round++) {
  for (const [name, setup] of Object.entries(variants)) {
    const { page, context } = await openPage(browser, server.base);
    await setup(page);
    await page.goto(`${server.base}/`);
    await waitForMap(page);
    const first = await page.evaluate(() => window.__civmap.firstRenderMs);
    (res[name] ??= []).push(Math.round(first));
    await context.close();
  }
}
console.log(JSON.stringify(res));
await browser.close(); await server.stop();
