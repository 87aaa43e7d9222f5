// Point codes (点位码) as people use them, in Debian's headless chromium on the demo street: the
// street office (desktop) signs in through the set-up page's form and opens 打印点位码, a sheet
// of cards with QR codes (the server test decodes every code with a real decoder; here the card's
// `data-url` is what its QR code says); a grid worker (phone) opens a card's link, reads where it
// placed the report ("扫码定位：…"), signs in on the report page and reports with a photo; the
// problem lands in that zone and goes to its chief. A damaged code says so in Chinese.
// Screenshots: tests/artifacts/codes-*.png.
//
// Run: `node --test point_codes.test.mjs` (after `cargo build -p civmap` and `npm run build` in web/).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, PHONE, apiSession, launchBrowser, makePng, openPage, screenshot, startServer, waitForMap } from './support.mjs';

/** The password of every `--demo` account (README, "Accounts"). */
const DEMO_PASSWORD = 'civmap-demo';

let server;
let browser;

before(async () => {
  server = await startServer({ config: '[auth]\nlogin_per_minute = 1000\n' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Signs in through the visible form. */
async function signIn(page, name) {
  await page.locator('input[name=login-name]').fill(name);
  await page.locator('input[name=login-password]').fill(DEMO_PASSWORD);
  await page.locator('.login-form button[type=submit]').click();
  await page.locator(`.signed-in[data-user="${name}"]`).waitFor();
}

describe('point codes', () => {
  test('the office prints the cards; a card opens the report page at its zone and the report goes to its chief', async () => {
    // ---- the street office prints the cards from 街道设置 -------------------------------------
    const office = await openPage(browser, server.base, { viewport: DESKTOP });
    await office.page.goto(`${server.base}/#/setup`);
    await signIn(office.page, 'demo-office');
    const link = office.page.locator('a[data-action=point-codes]');
    assert.equal((await link.innerText()).trim(), '打印点位码');
    const [sheet] = await Promise.all([office.context.waitForEvent('page'), link.click()]);
    await sheet.waitForLoadState();
    const title = (await sheet.locator('h1').innerText()).trim();
    const m = /^点位码 · 共 (\d+) 个$/.exec(title);
    assert.ok(m && Number(m[1]) > 0, `the sheet counts its cards: ${title}`);
    const cards = sheet.locator('div.card');
    assert.equal(await cards.count(), Number(m[1]));
    await sheet.setViewportSize({ width: 900, height: 1200 });
    await screenshot(sheet, 'codes-sheet');
    // A card whose zone has a chief: a report made from it is dispatched.
    const chosen = await cards.evaluateAll((els) =>
      els.map((e) => ({ zone: e.dataset.zone, url: e.dataset.url, name: e.querySelector('.name').textContent, chiefs: e.textContent.includes('责任人：') })).find((c) => c.chiefs),
    );
    assert.ok(chosen, 'a card names the zone chief');
    const url = new URL(chosen.url);
    assert.equal(url.pathname, '/');
    assert.match(url.hash, new RegExp(`^#/report\\?zone=${chosen.zone}&at=\\d+\\.\\d{6},\\d+\\.\\d{6}$`));

    // ---- a grid worker scans it (phone) ------------------------------------------------------
    const { page, context, problems } = await openPage(browser, server.base, { viewport: PHONE });
    await page.goto(`${server.base}/${url.hash}`);
    await waitForMap(page);
    const placed = page.locator('[data-point-code]');
    await placed.waitFor();
    assert.equal((await placed.innerText()).trim(), `扫码定位：${chosen.name}`);
    const [lon, lat] = url.hash.split('at=')[1].split(',');
    assert.match(await page.locator('.loc-text').innerText(), new RegExp(`经度 ${lon}，纬度 ${lat}`));
    await screenshot(page, 'codes-report-placed-phone');
    await page.locator('.report-signin > summary').click();
    await signIn(page, 'demo-reporter');
    await page.locator('select[name=category]').selectOption('ad_posters');
    await page.locator('input[name=photo]').setInputFiles({ name: 'posters.png', mimeType: 'image/png', buffer: makePng() });
    await page.locator('img.photo-preview:not([hidden])').waitFor();
    await page.locator('textarea[name=description]').fill('扫码上报：电线杆上贴满小广告');
    await page.locator('button[name=submit]').click();
    const sent = page.locator('.sent-panel');
    await sent.waitFor();
    assert.match((await page.locator('.sent-to').innerText()).trim(), /^已派给 \S+/);
    await screenshot(page, 'codes-report-sent-phone');
    const id = await sent.getAttribute('data-created');
    const desk = await apiSession(server.base, DEMO_PASSWORD, 'demo-office');
    const made = await desk.get(`/api/v1/problems/${id}`);
    assert.equal(made.properties.zone, chosen.zone, 'the report lies in the zone of the card');
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(problems.foreignRequests, []);

    // ---- a damaged code says so, in Chinese --------------------------------------------------
    await page.goto(`${server.base}/#/report?zone=not-a-zone&at=north,east`);
    await page.reload();
    await page.locator('[data-error-for=location]', { hasText: '这个点位码无法识别' }).waitFor();
    await screenshot(page, 'codes-damaged-phone');
    await context.close();
    await office.context.close();
  });
});
