// When the server goes away and comes back, as the street office and a visitor of the public map
// see it: a banner says so in Chinese, the inbox's live dot turns grey, the map's count says it
// shows the data from before; when the server is back everything recovers by itself, without a
// reload by hand. The server is really stopped (SIGTERM) and started again on the same address
// and database.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdirSync } from 'node:fs';
import { ARTIFACTS, DESKTOP, launchBrowser, openPage, screenshot, startServer, waitForMap } from './support.mjs';

const LOST = '无法连接服务器，正在自动重试。恢复后页面会自动刷新。';
const BACK = '已重新连接服务器，数据已刷新。';
const STALE = '（连接中断：显示的是断开前的数据）';

let server;
let browser;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** No English words in what a person reads in Chinese mode. */
function assertChinese(text, what) {
  assert.doesNotMatch(text, /[A-Za-z]{2,}/, `${what} is all Chinese: ${text}`);
}

describe('connection state', () => {
  test('the server stops and starts again: banner, grey live dot, stale count, then recovery by itself', async () => {
    const office = await openPage(browser, server.base, { viewport: DESKTOP });
    await office.page.goto(`${server.base}/#/office`);
    await office.page.waitForFunction(() => window.__civmap?.app);
    await office.page.locator('input[name=login-name]').fill('demo-office');
    await office.page.locator('input[name=login-password]').fill('civmap-demo');
    await office.page.locator('.login-form button[type=submit]').click();
    await office.page.locator('.signed-in[data-user=demo-office]').waitFor();
    await office.page.locator('.inbox .live-dot[data-live=on]').waitFor();

    const visitor = await openPage(browser, server.base, { viewport: DESKTOP });
    await visitor.page.goto(`${server.base}/`);
    await waitForMap(visitor.page);
    const shownBefore = (await visitor.page.locator('.status-line').innerText()).trim();
    assert.match(shownBefore, /^地图上 \d+ 个问题$/);
    assert.equal(await office.page.locator('.banner').count(), 0, 'no banner while the server answers');

    // The server goes away (its database and address are kept for the restart).
    const addr = new URL(server.base).host;
    const dir = server.dir;
    await server.stop(true);

    // The office's live stream breaks: the page asks and says the server cannot be reached.
    const banner = office.page.locator('.banner[data-connection=lost]');
    await banner.waitFor({ timeout: 30_000 });
    assert.equal((await banner.innerText()).trim(), LOST);
    await office.page.locator('.inbox .live-dot[data-live=off]').waitFor();
    await screenshot(office.page, 'connection-lost-office');

    // The visitor pans the map: the load fails; the banner and the count say what is shown.
    const box = await visitor.page.locator('.maplibregl-canvas').boundingBox();
    await visitor.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await visitor.page.mouse.down();
    await visitor.page.mouse.move(box.x + box.width / 2 - 200, box.y + box.height / 2, { steps: 8 });
    await visitor.page.mouse.up();
    await visitor.page.locator('.banner[data-connection=lost]').waitFor({ timeout: 30_000 });
    const status = visitor.page.locator('.status-line');
    await visitor.page.waitForFunction((s) => document.querySelector('.status-line')?.textContent?.includes(s), STALE);
    assertChinese(await status.innerText(), 'the status line while offline');
    assertChinese(await visitor.page.locator('.banner').innerText(), 'the banner');
    await screenshot(visitor.page, 'connection-lost-public');

    // The server comes back on the same address with the same database.
    server = await startServer({ dir, addr });
    const back = office.page.locator('.banner[data-connection=back]');
    await back.waitFor({ timeout: 60_000 });
    assert.equal((await back.innerText()).trim(), BACK);
    // The live stream reconnects by itself (the session cookie is still valid).
    await office.page.locator('.inbox .live-dot[data-live=on]').waitFor({ timeout: 60_000 });
    await screenshot(office.page, 'connection-back-office');

    // The public map recovers: its count no longer says it is stale, and it counts problems.
    await visitor.page.waitForFunction(
      (s) => {
        const t = document.querySelector('.status-line')?.textContent ?? '';
        return /^地图上 \d+ 个问题/.test(t) && !t.includes(s);
      },
      STALE,
      { timeout: 60_000 },
    );
    const n = Number(/地图上 (\d+) 个问题/.exec(await status.innerText())[1]);
    assert.ok(n > 0, 'problems are shown again');
    assert.equal(await visitor.page.locator('.banner[data-connection=lost]').count(), 0);
    await screenshot(visitor.page, 'connection-back-public');
    assert.deepEqual(office.problems.pageErrors, [], 'no uncaught exception (office)');
    assert.deepEqual(visitor.problems.pageErrors, [], 'no uncaught exception (public map)');
    await office.context.close();
    await visitor.context.close();
  });
});
