// A grid worker's day on a phone, as a person does it, against the real server on the demo data:
// sign in on the report page itself, report a problem with a photo, read the confirmation (case
// number, its page, where it went), find the form empty for the next one, open the report from
// 我的上报; after the street office verified the fix, answer "问题解决了吗？" with 否 and a note,
// and the street office finds it in its list "群众反馈未解决" with the history line in Chinese.
// Run: `node --test gridworker.test.mjs` (after `cargo build -p civmap` and `npm run build` in
// web/). Screenshots land in tests/artifacts/.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdirSync } from 'node:fs';
import { ARTIFACTS, DESKTOP, PHONE, apiSession, getJson, launchBrowser, makePng, openPage, screenshot, startServer, waitForMap } from './support.mjs';

/** The password of every `--demo` account (README, "Accounts"). */
const DEMO_PASSWORD = 'civmap-demo';
/** A static street-office token for the test's own API reads (the pages sign in with passwords). */
const OFFICE_TOKEN = process.env.CIVMAP_TEST_OFFICE_TOKEN ?? 'browser-test-office-0123456789';
const NOTE = '垃圾又堆起来了，请再来看看';

const CONFIG = `
[auth]
login_per_minute = 1000

[[api_tokens]]
token = "${OFFICE_TOKEN}"
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

/** No console error, no uncaught exception, nothing loaded from outside the server. */
function assertClean(problems) {
  assert.deepEqual(problems.pageErrors, [], 'uncaught exceptions in the page');
  assert.deepEqual(problems.consoleErrors, [], 'console errors');
  assert.deepEqual(problems.foreignRequests, [], 'requests that left the server');
  assert.deepEqual(problems.httpErrors, [], 'HTTP errors answered to the page');
}

/** No Latin words on screen in the Chinese page (case numbers `CM…` and units aside). */
async function assertNoEnglish(page, selector) {
  const text = await page.locator(selector).innerText();
  const words = text.replace(/CM\d{6}-\d{4}/g, '').match(/[A-Za-z]{3,}/g) ?? [];
  assert.deepEqual(words, [], `English on screen in ${selector}: ${text}`);
}

describe('grid worker', () => {
  test('report, confirmation, 我的上报, and 回访 after the office verified', async () => {
    // A spot the demo dispatches: where a problem was dispatched to a zone's chief before.
    const dispatched = await getJson(server.base, '/api/v1/problems?status=dispatched&limit=200', OFFICE_TOKEN);
    const spot = dispatched.features.find((f) => f.properties.zone && f.properties.assignee);
    assert.ok(spot, 'the demo has a dispatched problem');
    const [lon, lat] = spot.geometry.coordinates;

    const { page, context, problems } = await openPage(browser, server.base, { viewport: PHONE, geolocation: { longitude: lon, latitude: lat, accuracy: 10 } });
    await page.goto(`${server.base}/#/report?map=18/${lat}/${lon}`);
    await waitForMap(page);

    // Sign in on the report page itself.
    await page.locator('.report-signin > summary').click();
    await page.locator('input[name=login-name]').fill('demo-reporter');
    await page.locator('input[name=login-password]').fill(DEMO_PASSWORD);
    await page.locator('.login-form button[type=submit]').click();
    await page.locator('.signed-in[data-user=demo-reporter]').waitFor();
    assert.match(await page.locator('.signed-in').innerText(), /网格员/);
    await screenshot(page, 'grid-1-signed-in-phone');

    // The report, with a photo.
    await page.locator('button[name=locate]').click();
    await page.waitForFunction((x) => document.querySelector('.loc-text').textContent.includes(x), lon.toFixed(6));
    await page.locator('select[name=category]').selectOption('garbage');
    await page.locator('input[name=photo]').setInputFiles({ name: 'pile.png', mimeType: 'image/png', buffer: makePng() });
    await page.locator('img.photo-preview:not([hidden])').waitFor();
    await page.locator('textarea[name=description]').fill('网格员测试：人行道上堆放的垃圾袋');
    await screenshot(page, 'grid-2-filled-phone');
    await page.locator('button[name=submit]').click();

    // The confirmation: case number, its page, where it went.
    const panel = page.locator('.sent-panel');
    await panel.waitFor();
    await screenshot(page, 'grid-3-confirmation-phone');
    const id = await panel.getAttribute('data-created');
    const caseLine = (await page.locator('.case-no-line').innerText()).trim();
    const m = /^案件号 (CM\d{6}-\d{4})$/.exec(caseLine);
    assert.ok(m, `the case number is shown: ${caseLine}`);
    const caseNo = m[1];
    const sentTo = (await page.locator('.sent-to').innerText()).trim();
    assert.match(sentTo, /^已派给 \S+/, `where it went: ${sentTo}`);
    assert.equal(await page.locator('.case-link').getAttribute('href'), `/p/${caseNo}`);
    await assertNoEnglish(page, '.sent-panel');
    console.log(`confirmation: ${caseLine} · ${sentTo}`);

    // The form is empty for the next report.
    assert.equal(await page.locator('select[name=category]').inputValue(), '');
    assert.equal(await page.locator('textarea[name=description]').inputValue(), '');
    assert.ok(await page.locator('img.photo-preview').evaluate((e) => e.hidden), 'no photo left in the form');
    assert.ok(await page.locator('.loc-text').evaluate((e) => e.classList.contains('muted')), 'no location left in the form');

    // 我的上报: the row with case number, category, place, status and date, opening its page.
    const row = page.locator(`.my-reports .my-report[data-problem="${id}"]`);
    await row.waitFor();
    const rowText = await row.innerText();
    assert.match(rowText, new RegExp(caseNo));
    assert.match(rowText, /垃圾/);
    assert.match(rowText, /已派单/);
    assert.match(rowText, /\d{4}\/\d{2}\/\d{2}/);
    assert.equal(await row.locator('a.my-report-link').getAttribute('href'), `/p/${caseNo}`);
    await screenshot(page, 'grid-4-my-reports-phone');
    await Promise.all([page.waitForURL(`${server.base}/p/${caseNo}`), row.locator('a.my-report-link').click()]);
    await page.waitForFunction((no) => document.body.innerText.includes(no), caseNo);
    await screenshot(page, 'grid-5-case-page-phone');

    // The chief fixes it and the street office verifies, through the API with password sessions.
    const office = await apiSession(server.base, DEMO_PASSWORD, 'demo-office');
    const now = await office.get(`/api/v1/problems/${id}`);
    const photo = await office.photo(makePng());
    const fixed = await office.post(`/api/v1/problems/${id}/rectify`, { version: now.properties.version, note: '已清理', photos: [photo.id] });
    // Four eyes: the one who fixed it may not verify it — another office account verifies.
    const verifier = await apiSession(server.base, DEMO_PASSWORD, 'demo-admin');
    await verifier.post(`/api/v1/problems/${id}/verify`, { version: fixed.properties.version });

    // Back on the report page: the row asks whether it is solved.
    await page.goto(`${server.base}/#/report`);
    const ask = page.locator(`.my-report[data-problem="${id}"] .ask-solved`);
    await ask.waitFor();
    assert.match(await ask.innerText(), /问题解决了吗？/);
    await screenshot(page, 'grid-6-ask-solved-phone');
    await ask.locator('button[name=solved-no]').click();
    await ask.locator('textarea[name=feedback-note]').fill(NOTE);
    await ask.locator('button[name=feedback-send]').click();
    const answered = page.locator(`.my-report[data-problem="${id}"] .answered`);
    await answered.waitFor();
    assert.equal((await answered.innerText()).trim(), '已回访：未解决，已转街道');
    await assertNoEnglish(page, '.my-reports');
    await screenshot(page, 'grid-7-answered-phone');
    assertClean(problems);
    await context.close();

    // The street office: the list "群众反馈未解决" (API) ...
    const list = await office.get('/api/v1/me/inbox/feedback_unsolved');
    assert.ok(
      list.items.some((i) => i.id === id),
      'the problem is in the office list feedback_unsolved',
    );
    // ... and in its console, the history line in Chinese.
    const desk = await openPage(browser, server.base, { viewport: DESKTOP });
    await desk.page.goto(`${server.base}/#/office`);
    await desk.page.locator('input[name=login-name]').fill('demo-office');
    await desk.page.locator('input[name=login-password]').fill(DEMO_PASSWORD);
    await desk.page.locator('.login-form button[type=submit]').click();
    await desk.page.locator('.signed-in[data-user=demo-office]').waitFor();
    const section = desk.page.locator('.inbox-section', { has: desk.page.locator('[data-list=feedback_unsolved]') });
    await section.waitFor();
    assert.match(await section.locator('summary').innerText(), /^群众反馈未解决 \(\d+\)$/);
    // The row names the case number the grid worker was given and where it is.
    const where = section.locator(`[data-problem="${id}"] .inbox-where`);
    assert.equal((await where.locator('.case-no').innerText()).trim(), caseNo);
    assert.ok((await where.locator('.task-place').innerText()).trim().length > 0, 'the row says where it is');
    await section.locator(`[data-problem="${id}"] button.link`).click();
    const line = desk.page.locator('.history .ev-feedback .ev-kind');
    await line.waitFor();
    assert.equal((await line.innerText()).trim(), `上报人回访：未解决 —— ${NOTE}`);
    await screenshot(desk.page, 'grid-8-office-history-desktop');
    assertClean(desk.problems);
    await desk.context.close();
  });
});
