// Issue 17's speed figure for the outbox: a grid worker without signal queues 50 reports, each
// with a photo, through the report form on a phone; the network returns; the time until the
// outbox is empty is printed ("50 queued reports sent in N ms"; the target is ≤ 20 s on
// loopback), and the server must hold exactly 50 new problems — not one more. No time is asserted.
// Run: `node --test outbox_speed.test.mjs` (after `cargo build -p civmap` and `npm run build` in web/).

import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { mkdirSync } from 'node:fs';
import { ARTIFACTS, PHONE, getJson, launchBrowser, makePng, openPage, outboxCount, screenshot, startServer } from './support.mjs';

const DEMO_PASSWORD = 'civmap-demo';
const OFFICE_TOKEN = process.env.CIVMAP_TEST_OFFICE_TOKEN ?? 'browser-test-office-0123456789';
const CONFIG = `
[auth]
login_per_minute = 1000

[[api_tokens]]
token = "${OFFICE_TOKEN}"
role = "street_office"
name = "browser test: street office"
`;
/** Reports queued: the figure. */
const QUEUED = 50;

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

describe('outbox speed', () => {
  test(`${QUEUED} reports with photos queued offline are sent when the network returns, once each`, async () => {
    const [lon, lat] = [121.4985, 31.2855];
    const { page, context } = await openPage(browser, server.base, { viewport: PHONE, geolocation: { longitude: lon, latitude: lat, accuracy: 10 } });
    await page.goto(`${server.base}/#/report?map=16/${lat}/${lon}`);
    await page.locator('.report-signin > summary').click();
    await page.locator('input[name=login-name]').fill('demo-reporter');
    await page.locator('input[name=login-password]').fill(DEMO_PASSWORD);
    await page.locator('.login-form button[type=submit]').click();
    await page.locator('.signed-in[data-user="demo-reporter"]').waitFor();
    await page.evaluate(() => window.__civmap.offlineReady);

    const tag = `速度测试 ${Date.now()}`;
    const photo = makePng(160, 120);
    await context.setOffline(true);
    for (let i = 0; i < QUEUED; i++) {
      await page.locator('button[name=locate]').click();
      await page.waitForFunction(() => !document.querySelector('.loc-text')?.classList.contains('muted'));
      await page.locator('select[name=category]').selectOption('garbage');
      await page.locator('input[name=photo]').setInputFiles({ name: `p${i}.png`, mimeType: 'image/png', buffer: photo });
      await page.locator('img.photo-preview:not([hidden])').waitFor();
      await page.locator('textarea[name=description]').fill(`${tag} #${i}`);
      await page.locator('button[name=submit]').click();
      await page.waitForFunction((n) => document.querySelector('.outbox-count')?.textContent === `${n} 条待发送`, i + 1);
    }
    assert.equal(await outboxCount(page), QUEUED);
    await screenshot(page, 'outbox-speed-1-fifty-queued-phone');

    const load = execSync('uptime').toString().trim();
    const t0 = Date.now();
    await context.setOffline(false);
    // Polled from here: a predicate answering a Promise is truthy to waitForFunction at once.
    for (let i = 0; (await outboxCount(page)) > 0; i++) {
      if (i > 3600) throw new Error('the outbox did not empty in 180 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const ms = Date.now() - t0;
    console.log(`${QUEUED} queued reports sent in ${ms} ms (machine: ${load})`);

    const d = 0.002;
    const bbox = [lon - d, lat - d, lon + d, lat + d].map((v) => v.toFixed(6)).join(',');
    const near = await getJson(server.base, `/api/v1/problems?bbox=${bbox}&limit=1000`, OFFICE_TOKEN);
    const mine = near.features.filter((f) => (f.properties.description ?? '').startsWith(tag));
    assert.equal(mine.length, QUEUED, 'exactly one problem per queued report');
    assert.equal(new Set(mine.map((f) => f.properties.description)).size, QUEUED);
    await screenshot(page, 'outbox-speed-2-sent-phone');
    await context.close();
  });
});
