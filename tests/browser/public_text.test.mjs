// The street office hides a problem's description from the public, then rewords it, from the
// problem's detail in its console (desktop): the form says in Chinese what is missing, the detail
// says what the public reads, the history records each change, and the public API reads the
// office's text while staff keep the description as written.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdirSync } from 'node:fs';
import { ARTIFACTS, DESKTOP, getJson, launchBrowser, openPage, screenshot, startServer } from './support.mjs';

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

describe('public description', () => {
  test('the office hides a description, then rewords it; the public reads only its text', async () => {
    const { page, context, problems } = await openPage(browser, server.base, { viewport: DESKTOP });
    await page.goto(`${server.base}/#/office`);
    await page.waitForFunction(() => window.__civmap?.app);
    await page.locator('input[name=login-name]').fill('demo-office');
    await page.locator('input[name=login-password]').fill('civmap-demo');
    await page.locator('.login-form button[type=submit]').click();
    await page.locator('.signed-in[data-user=demo-office]').waitFor();

    // The first problem of the street's table.
    const row = page.locator('.list-box tbody tr[data-problem]').first();
    await row.waitFor();
    const id = await row.getAttribute('data-problem');
    await row.click();
    const detail = page.locator(`.detail[data-problem="${id}"]`);
    await detail.waitFor();
    const original = (await getJson(server.base, `/api/v1/problems/${id}`)).properties.description;

    // The button, then the form; saving without a reason says what is missing.
    const open = detail.locator('button[data-action=public-text]');
    assert.equal((await open.innerText()).trim(), '对公众隐藏描述 / 修改公开描述');
    await open.click();
    const form = detail.locator('form.public-text-form');
    await form.waitFor();
    await screenshot(page, 'public-text-form');
    await form.locator('button[data-action=public-text-save]').click();
    await page.waitForFunction(() => document.querySelector('[data-error-for=public_note]')?.textContent === '请填写隐藏或修改的原因');
    await screenshot(page, 'public-text-no-reason');

    // Hide it.
    await form.locator('textarea[name=public_note]').fill('描述含住户姓名');
    await form.locator('button[data-action=public-text-save]').click();
    const shown = detail.locator('.public-text');
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '公众看到的描述：（内容已隐藏）', `.detail[data-problem="${id}"] .public-text`);
    assert.equal((await detail.locator('[role=status]').innerText()).trim(), '已保存，公众页面将显示新的描述。');
    const hiddenEvent = detail.locator('.history .ev-edited .ev-kind', { hasText: '对公众隐藏了描述' });
    await hiddenEvent.waitFor();
    assert.match(await detail.locator('.history .ev-edited').last().innerText(), /描述含住户姓名/);
    await screenshot(page, 'public-text-hidden');
    let pub = await getJson(server.base, `/api/v1/problems/${id}`);
    assert.equal(pub.properties.description, '（内容已隐藏）');

    // Reword it.
    await detail.locator('button[data-action=public-text]').click();
    await form.locator('input[value=reword]').check();
    await form.locator('textarea[name=public_description]').fill('路口有垃圾堆放');
    await form.locator('textarea[name=public_note]').fill('改为公开表述');
    await form.locator('button[data-action=public-text-save]').click();
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '公众看到的描述：路口有垃圾堆放', `.detail[data-problem="${id}"] .public-text`);
    await detail.locator('.history .ev-edited .ev-kind', { hasText: '修改了公开描述「路口有垃圾堆放」' }).waitFor();
    await screenshot(page, 'public-text-reworded');
    assert.equal((await shown.innerText()).trim(), '公众看到的描述：路口有垃圾堆放');
    pub = await getJson(server.base, `/api/v1/problems/${id}`);
    assert.equal(pub.properties.description, '路口有垃圾堆放');
    const ogc = await getJson(server.base, `/ogc/collections/problems/items/${id}`);
    assert.equal(ogc.properties.description, '路口有垃圾堆放');
    // The office's card still shows the description as written.
    assert.match(await detail.locator('.problem-card').innerText(), new RegExp(original.slice(0, 6)));

    assert.deepEqual(problems.pageErrors, [], 'no uncaught exception');
    await context.close();
  });
});
