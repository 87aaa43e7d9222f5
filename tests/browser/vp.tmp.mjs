import { startServer, launchBrowser, openPage, waitForMap } from './support.mjs';
const server = await startServer();
const browser = await launchBrowser();
const res = {};
for (let round = 0; round < 3; round++) {
  for (const [name, vp] of Object.entries({ big: { width: 1366, height: 860 }, half: { width: 683, height: 430 }, phone: { width: 390, height: 844 } })) {
    const { page, context } = await openPage(browser, server.base, { viewport: vp });
    await page.goto(`${server.base}/`);
    await waitForMap(page);
    const first = await page.evaluate(() => window.__civmap.firstRenderMs);
    (res[name] ??= []).push(Math.round(first));
    await context.close();
  }
}
console.log(JSON.stringify(res));
await browser.close(); await server.stop();
