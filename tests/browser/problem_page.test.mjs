// A problem's own page, as people reach it: on the public map (phone) a click on a problem shows
// its case number and place, "分享" gives the link to /p/<case number>, and opening that link
// shows the page in Chinese; a street office signed in through the form reads names on the same
// page. Also reports (does not assert) the public map's first render and what it was made of.
// Run: `node --test problem_page.test.mjs` after `cargo build -p civmap` and `npm run build`
// in web/. Screenshots land in tests/artifacts/.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, DESKTOP, PHONE, getJson, launchBrowser, openPage, renderedFeatures, screenshot, startServer, toPage, waitForMap } from './support.mjs';

const OFFICE = { token: process.env.CIVMAP_TEST_OFFICE_TOKEN ?? 'browser-test-office-0123456789' };
const DEMO_PASSWORD = 'civmap-demo';

const CONFIG = `
[auth]
login_per_minute = 1000

[[api_tokens]]
token = "${OFFICE.token}"
role = "street_office"
name = "browser test: street office"
`;

let server;
let browser;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startServer({ config: CONFIG });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Text a person reads must not be the API's English. */
function assertChinese(text, what) {
  assert.ok(!/\b(not found|reported|dispatched|closed|error)\b/i.test(text), `${what} has no English API words: ${text}`);
}

describe('a problem page', () => {
  test('first render of the public map, reported with what it was made of', async () => {
    const { page, context } = await openPage(browser, server.base, { viewport: DESKTOP });
    await page.goto(`${server.base}/`);
    await waitForMap(page);
    const report = await page.evaluate(() => {
      const marks = Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('civmap:')).map((m) => [m.name, Math.round(m.startTime)]));
      const nav = performance.getEntriesByType('navigation')[0];
      const resources = performance.getEntriesByType('resource').map((r) => ({
        url: r.name.replace(location.origin, ''),
        start: Math.round(r.startTime),
        end: Math.round(r.responseEnd),
        transferKB: Math.round(r.transferSize / 102.4) / 10,
      }));
      const js = resources.filter((r) => r.url.endsWith('.js')).reduce((a, r) => a + r.transferKB, 0);
      return { firstRenderMs: Math.round(window.__civmap.firstRenderMs), domContentLoaded: Math.round(nav.domContentLoadedEventEnd), marks, jsTransferKB: Math.round(js), resources };
    });
    console.log(`first render (desktop, cold cache): ${report.firstRenderMs} ms; marks ${JSON.stringify(report.marks)}; JS transferred ${report.jsTransferKB} KB`);
    writeFileSync(join(ARTIFACTS, 'first-render-breakdown.json'), `${JSON.stringify(report, null, 1)}\n`);
    // The opening view shows clusters, not hundreds of dots over the street.
    const clusters = await renderedFeatures(page, ['problem-clusters']);
    const points = await renderedFeatures(page, ['problem-points']);
    assert.ok(clusters.length > 0, 'clusters at the opening zoom');
    assert.ok(clusters.length + points.length < 150, `the street stays readable (${clusters.length} clusters, ${points.length} dots)`);
    await screenshot(page, 'page-public-opening-view');
    await context.close();
  });

  test('public map → a problem → 分享 → its page in Chinese; staff signed in read names there', async () => {
    // A dispatched problem of an outdoor category with a responsible chief (the office's own view).
    const cats = await getJson(server.base, '/api/v1/categories');
    const indoor = new Set(cats.filter((c) => c.indoor).map((c) => c.code));
    const list = await getJson(server.base, '/api/v1/problems?status=dispatched&bbox=121.485,31.277,121.509,31.293&limit=1000', OFFICE.token);
    const target = list.features.find((f) => f.properties.assignee && !indoor.has(f.properties.category));
    assert.ok(target, 'the demo has a dispatched outdoor problem with a chief');
    // Its chief's name as the street office reads it (the chiefs it may assign).
    const chiefs = await getJson(server.base, '/api/v1/chiefs', OFFICE.token);
    const chief = chiefs.find((c) => c.id === target.properties.assignee);
    const chiefName = target.properties.assignee_name ?? (chief && (chief.display_name || chief.name));
    assert.ok(chiefName, 'the street office knows the chief\'s name');
    const [lon, lat] = target.geometry.coordinates;

    const { page, context, problems } = await openPage(browser, server.base, { viewport: PHONE });
    await page.goto(`${server.base}/#map=19/${lat.toFixed(6)}/${lon.toFixed(6)}`);
    await waitForMap(page);
    await page.waitForFunction((id) => window.__civmap.map.queryRenderedFeatures({ layers: ['problem-points'] }).some((f) => f.properties.id === id), target.id);
    const xy = await toPage(page, [lon, lat]);
    await page.mouse.click(xy.x, xy.y);
    const card = page.locator('.maplibregl-popup .problem-card');
    await card.waitFor({ state: 'visible' });
    const caseNo = (await card.locator('.case-no .v').innerText()).trim();
    assert.match(caseNo, /^CM\d{6}-\d{4}$/, 'the popup shows the case number');
    const place = (await card.locator('.place .v').innerText()).trim();
    assert.ok(place.length > 0, 'the popup shows the place');
    assert.equal(place, target.properties.place || place, 'the place is the server\'s');
    await screenshot(page, 'page-popup-phone');

    await card.locator('.share-button').click();
    const link = card.locator('.share-url');
    await link.waitFor();
    const href = await link.getAttribute('href');
    assert.equal(href, `${server.base}/p/${caseNo}`, 'the shared link is the page of the case number');
    assert.match(await card.locator('.share-result .note').innerText(), /链接已复制|长按链接复制/);
    await screenshot(page, 'page-share-phone');

    await page.goto(href);
    await page.locator('h1').waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
    const cat = cats.find((c) => c.code === target.properties.category);
    assert.equal((await page.locator('h1').innerText()).trim(), cat.zh);
    assert.match(await page.locator('.case').innerText(), new RegExp(caseNo));
    assert.equal((await page.locator('.status').innerText()).trim(), '已派单');
    assert.ok((await page.locator('ol.history li').count()) > 0, 'the history is listed');
    const publicText = await page.locator('main').innerText();
    assertChinese(publicText, 'the public page');
    assert.equal(await page.locator('.staff').count(), 0, 'no staff section for the public');
    assert.equal(await page.locator('.actor').count(), 0, 'no names for the public');
    assert.ok(await page.locator('link[rel=alternate][type="application/atom+xml"]').count(), 'the page advertises its feed');
    const ogTitle = await page.locator('meta[property="og:title"]').getAttribute('content');
    assert.ok(ogTitle.startsWith(cat.zh), `Open Graph title for WeChat: ${ogTitle}`);
    await screenshot(page, 'page-public-phone');
    // The page is a page for phones: nothing wider than the screen.
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= PHONE.width, `no sideways scrolling (${wide} px)`);
    assert.deepEqual(problems.pageErrors, []);
    await context.close();

    // The street office signs in through the form (desktop) and opens the same link.
    const staff = await openPage(browser, server.base, { viewport: DESKTOP });
    await staff.page.goto(`${server.base}/#/office`);
    await staff.page.waitForFunction(() => window.__civmap?.app);
    await staff.page.locator('input[name=login-name]').fill('demo-office');
    await staff.page.locator('input[name=login-password]').fill(DEMO_PASSWORD);
    await staff.page.locator('.login-form button[type=submit]').click();
    await staff.page.locator('.signed-in[data-user=demo-office]').waitFor();
    await staff.page.goto(href);
    await staff.page.locator('.staff').waitFor();
    const assignee = (await staff.page.locator('dd.assignee').innerText()).trim();
    assert.notEqual(assignee, '未派单', 'the page names the responsible chief');
    assert.equal(assignee, chiefName);
    assert.ok(!publicText.includes(chiefName), `the public page did not show ${chiefName}`);
    assert.ok((await staff.page.locator('dd.zone').innerText()).trim() !== '—', 'the zone');
    assert.match(await staff.page.locator('dd.deadline').innerText(), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/, 'the deadline in CST');
    assert.ok(await staff.page.locator('a.console').count(), 'a link into the console');
    await screenshot(staff.page, 'page-staff-desktop');
    await staff.context.close();
  });

  test('an unknown case number is a page in Chinese', async () => {
    const { page, context } = await openPage(browser, server.base, { viewport: PHONE });
    const r = await page.goto(`${server.base}/p/CM000101-9999`);
    assert.equal(r.status(), 404);
    assert.equal((await page.locator('h1').innerText()).trim(), '找不到这个问题');
    await screenshot(page, 'page-404-phone');
    await context.close();
  });
});
