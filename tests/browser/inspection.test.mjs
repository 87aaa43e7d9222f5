// Browser test of a mock inspection (模拟测评) against the real server on the demo street, in
// Debian's headless chromium. The street office (desktop) signs in through the visible form, makes
// test points from the three surroundings and draws one school for the east area-chief with a
// seed; the inspector (phone, 390×844) signs in through the form, walks the sample, passes items
// and fails 无小广告 with a photo, and reads that a problem was created and dispatched; the office
// sees the readiness, prints a numbered rectification notice and edits the checklist; the chief
// fixes the problem, the office verifies it, and a second inspection of the same school (same
// seed), walked with the signal gone (the outcomes wait in the outbox and are sent once it is
// back), passes and scores higher in the trend. Screenshots:
// tests/artifacts/inspection-*.png.
//
// Run: `node --test inspection.test.mjs` (after `cargo build -p civmap` and `npm run build` in web/).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, PHONE, apiSession, getJson, launchBrowser, makePng, openPage, screenshot, startServer } from './support.mjs';

/** The password of every `--demo` account (README, "Accounts"). */
const DEMO_PASSWORD = 'civmap-demo';
/** A static token for the test's own reads of what the server stored (the pages sign in by their forms). */
const OFFICE_TOKEN = process.env.CIVMAP_TEST_OFFICE_TOKEN ?? 'browser-test-office-inspection-0123456789';

const CONFIG = `
[auth]
login_per_minute = 1000

[[api_tokens]]
token = "${OFFICE_TOKEN}"
role = "street_office"
name = "browser test: street office (inspection)"
`;

let server;
let browser;

before(async () => {
  server = await startServer({ config: CONFIG });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Signs in through the visible form of the page's panel. */
async function signIn(page, name) {
  await page.locator('input[name=login-name]').fill(name);
  await page.locator('input[name=login-password]').fill(DEMO_PASSWORD);
  await page.locator('form.login-form button[type=submit]').click();
  await page.locator(`.signed-in[data-user="${name}"]`).waitFor();
}

describe('mock inspection', () => {
  test('the office draws a sample, the inspector fails an item with a photo on a phone, a notice is printed, the fix is verified and the next inspection scores higher', async () => {
    const chiefs = await getJson(server.base, '/api/v1/chiefs', OFFICE_TOKEN);
    const inspector = chiefs.find((c) => c.display_name === '片长·东片');
    assert.ok(inspector, 'the demo has its east area-chief');

    // ---- the office (desktop): test points from the three surroundings, then a sample ----------
    const office = await openPage(browser, server.base, { viewport: DESKTOP });
    await office.page.goto(`${server.base}/#/office`);
    await office.page.locator('h2.panel-title', { hasText: '街道工作台' }).waitFor();
    await signIn(office.page, 'demo-office');
    const panel = office.page.locator('section.readiness');
    await panel.locator('h3', { hasText: '迎检准备度' }).waitFor({ timeout: 60_000 });
    await panel.locator('p.muted', { hasText: '暂无测评结果' }).waitFor();
    await panel.locator('button[name=from-surroundings]').click();
    await panel.locator('.note', { hasText: /新增 \d+ 个测评点位/ }).waitFor();
    const points = await getJson(server.base, '/api/v1/test-points', OFFICE_TOKEN);
    assert.ok(points.some((p) => p.kind === 'school_surroundings'), 'schools became 学校周边 points');
    // One school, no park or market, seed 2026, for the east area-chief.
    await panel.locator('input[name=count-school_surroundings]').fill('1');
    for (const k of ['park_surroundings', 'market_surroundings']) {
      const input = panel.locator(`input[name=count-${k}]`);
      if ((await input.count()) > 0) await input.fill('0');
    }
    await panel.locator('input[name=seed]').fill('2026');
    await panel.locator('select[name=inspector]').selectOption(inspector.id);
    await panel.locator('button[name=draw]').click();
    await panel.locator('.note', { hasText: '已抽取 1 个点位（种子 2026）' }).waitFor();
    await panel.locator('[data-inspection] .task-name', { hasText: '第 1 次模拟测评' }).waitFor();
    await panel.scrollIntoViewIfNeeded();
    await screenshot(office.page, 'inspection-office-drawn');

    // ---- the inspector (phone): sign in, walk the sample, fail 无小广告 with a photo ------------
    const phone = await openPage(browser, server.base, { viewport: PHONE });
    await phone.page.goto(`${server.base}/#/inspect`);
    await phone.page.locator('h2.panel-title', { hasText: '模拟测评' }).waitFor();
    await signIn(phone.page, inspector.name);
    await phone.page.locator('h3', { hasText: '我的测评任务' }).waitFor();
    await screenshot(phone.page, 'inspection-phone-list');
    await phone.page.locator('button[data-inspection]', { hasText: '第 1 次模拟测评' }).click();
    await phone.page.locator('.inspect-progress', { hasText: '已测 0/1 个点位' }).waitFor();
    await phone.page.locator('.inspect-walk button[data-point]').first().click();
    const items = phone.page.locator('li.inspect-item');
    await items.first().waitFor();
    const codes = await items.evaluateAll((els) => els.map((e) => e.dataset.item));
    assert.ok(codes.includes('no_ad_posters'), `a school's checklist has 无小广告: ${codes}`);
    await screenshot(phone.page, 'inspection-phone-point');
    for (const code of codes) {
      const row = phone.page.locator(`li.inspect-item[data-item=${code}]`);
      if (code === 'no_ad_posters') {
        await row.locator('button[name=fail]').click();
        // Without a photo the page says so in Chinese.
        await row.locator('button[name=submit-fail]').click();
        await row.locator('[role=alert]', { hasText: '请先拍照' }).waitFor();
        await row.locator('input[type=file]').setInputFiles({ name: 'ads.png', mimeType: 'image/png', buffer: makePng() });
        await row.locator('img.photo-preview:not([hidden])').waitFor();
        await row.locator('textarea[name=note]').fill('校门口电线杆上贴满小广告');
        await screenshot(phone.page, 'inspection-phone-fail-form');
        await row.locator('button[name=submit-fail]').click();
        await phone.page.locator('li.inspect-item[data-item=no_ad_posters] .badge', { hasText: '不通过，已生成问题并派单' }).waitFor();
      } else {
        await row.locator('button[name=pass]').click();
        await phone.page.locator(`li.inspect-item[data-item=${code}] .badge`, { hasText: '通过' }).waitFor();
      }
    }
    await phone.page.locator('li.inspect-item[data-item=no_ad_posters]').scrollIntoViewIfNeeded();
    await screenshot(phone.page, 'inspection-phone-failed');
    await phone.page.locator('button[name=back-to-points]').click();
    await phone.page.locator('.inspect-progress', { hasText: '已测 1/1 个点位' }).waitFor();

    // The fail is a problem of the demo street, dispatched, with the item's category.
    const detail = await getJson(server.base, '/api/v1/inspections', OFFICE_TOKEN);
    const mine = await getJson(server.base, `/api/v1/inspections/${detail[0].id}`, OFFICE_TOKEN);
    const fail = mine.results.find((r) => !r.pass);
    assert.equal(fail.item, 'no_ad_posters');
    const problem = await getJson(server.base, `/api/v1/problems/${fail.problem}`, OFFICE_TOKEN);
    assert.equal(problem.properties.category, 'ad_posters');
    assert.equal(problem.properties.status, 'dispatched');

    // ---- the office sees the readiness and prints a numbered notice ---------------------------
    await office.page.reload();
    await panel.locator('.big[data-readiness]').waitFor({ timeout: 60_000 });
    const pctText = await panel.locator('.big[data-readiness]').innerText();
    assert.match(pctText, /^\d+\.\d%$/);
    assert.notEqual(pctText, '100.0%');
    await panel.locator('table.readiness-kinds td', { hasText: '学校周边' }).waitFor();
    await panel.locator('table.readiness-failing td', { hasText: '无小广告' }).waitFor();
    await panel.locator('table.readiness-kinds').scrollIntoViewIfNeeded();
    await screenshot(office.page, 'inspection-office-readiness');
    await panel.locator('button[name=issue-notice]').first().click();
    const printLink = panel.locator('a[data-action=print-notice]');
    await printLink.waitFor();
    const linkText = await printLink.innerText();
    assert.match(linkText, /打印通知单：整改通知 \d{4}-0001/);
    await screenshot(office.page, 'inspection-office-notice-issued');
    const [notice] = await Promise.all([office.context.waitForEvent('page'), printLink.click()]);
    await notice.waitForLoadState();
    await notice.locator('h1', { hasText: '整改通知单' }).waitFor();
    await notice.locator('p.no', { hasText: /整改通知 \d{4}-0001/ }).waitFor();
    await notice.locator('dd', { hasText: '未达到“无小广告”' }).waitFor();
    await notice.locator('.sign', { hasText: '责任单位签收' }).waitFor();
    await notice.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0));
    await notice.setViewportSize({ width: 800, height: 1130 });
    await screenshot(notice, 'inspection-notice');

    // ---- the office edits the checklist: a Chinese error first, then the new item is listed ----
    const editor = panel.locator('details.checklist-editor');
    await editor.locator('summary').click();
    await editor.locator('button[name=new-item]').click();
    const form = editor.locator('form.item-form');
    await form.locator('button[name=save-item]').click();
    await form.locator('[data-error-for=zh]', { hasText: '请填写测评项（不超过 60 字）' }).waitFor();
    await form.locator('input[name=item-zh]').fill('无占道晾晒');
    await form.locator('label.check', { hasText: '背街小巷' }).locator('input').check();
    await form.locator('select[name=item-category]').selectOption('clutter');
    await form.locator('button[name=save-item]').click();
    await editor.locator('p.ok', { hasText: '已保存“无占道晾晒”' }).waitFor();
    const row = editor.locator('tr', { has: office.page.locator('td.item-name', { hasText: '无占道晾晒' }) });
    assert.equal((await row.locator('td').nth(1).innerText()).trim(), '背街小巷');
    await row.scrollIntoViewIfNeeded();
    await screenshot(office.page, 'inspection-office-checklist');
    // The item is in force: the API lists it for the next inspection.
    const lists = await getJson(server.base, '/api/v1/inspections/checklists', OFFICE_TOKEN);
    assert.ok(lists.items.some((i) => i.zh === '无占道晾晒' && i.kinds.includes('back_street') && i.categories[0] === 'clutter'));

    // ---- the fix: the chief it was dispatched to rectifies, the office verifies (their sessions) --
    const owner = chiefs.find((c) => c.id === problem.properties.assignee);
    assert.ok(owner, `the problem went to a chief of the street: ${problem.properties.assignee}`);
    const chief = await apiSession(server.base, DEMO_PASSWORD, owner.name);
    const desk = await apiSession(server.base, DEMO_PASSWORD, 'demo-office');
    const open = await chief.get(`/api/v1/problems/${fail.problem}`);
    const after = await chief.photo(makePng());
    const fixed = await chief.post(`/api/v1/problems/${fail.problem}/rectify`, { version: open.properties.version, note: '小广告已清除', photos: [after.id] });
    await desk.post(`/api/v1/problems/${fail.problem}/verify`, { version: fixed.properties.version });

    // ---- the second mock inspection: same seed, same school; everything passes now -----------
    await office.page.reload();
    await panel.locator('.big[data-readiness]').waitFor({ timeout: 60_000 });
    await panel.locator('input[name=count-school_surroundings]').fill('1');
    for (const k of ['park_surroundings', 'market_surroundings']) {
      const input = panel.locator(`input[name=count-${k}]`);
      if ((await input.count()) > 0) await input.fill('0');
    }
    await panel.locator('input[name=seed]').fill('2026');
    await panel.locator('select[name=inspector]').selectOption(inspector.id);
    await panel.locator('button[name=draw]').click();
    await panel.locator('.note', { hasText: '已抽取 1 个点位（种子 2026）' }).waitFor();
    await panel.locator('[data-inspection] .task-name', { hasText: '第 2 次模拟测评' }).waitFor();
    await phone.page.goto(`${server.base}/#/inspect`);
    await phone.page.reload();
    await phone.page.locator('h3', { hasText: '我的测评任务' }).waitFor();
    await screenshot(phone.page, 'inspection-phone-list-second');
    await phone.page.locator('button[data-inspection]', { hasText: '第 2 次模拟测评' }).click();
    await phone.page.locator('.inspect-progress', { hasText: '已测 0/1 个点位' }).waitFor();
    await phone.page.locator('.inspect-walk button[data-point]').first().click();
    await items.first().waitFor();
    // The signal drops at the gate: each outcome waits on the phone, then is sent, once.
    const secondCodes = await items.evaluateAll((els) => els.map((e) => e.dataset.item));
    await phone.context.setOffline(true);
    for (const code of secondCodes) {
      await phone.page.locator(`li.inspect-item[data-item=${code}] button[name=pass]`).click();
      await phone.page.locator(`li.inspect-item[data-item=${code}] .badge.queued`, { hasText: '已保存在手机上，联网后发送' }).waitFor();
    }
    await phone.page.locator('.outbox-count', { hasText: `${secondCodes.length} 条待发送` }).waitFor();
    await screenshot(phone.page, 'inspection-phone-offline');
    await phone.context.setOffline(false);
    for (const code of secondCodes) {
      await phone.page.locator(`li.inspect-item[data-item=${code}] .badge.ok`, { hasText: '通过' }).waitFor();
    }
    await phone.page.locator('.outbox').waitFor({ state: 'detached' });
    const second = (await getJson(server.base, '/api/v1/inspections', OFFICE_TOKEN)).find((i) => i.name === '第 2 次模拟测评');
    const walked = await getJson(server.base, `/api/v1/inspections/${second.id}`, OFFICE_TOKEN);
    assert.deepEqual(walked.results.map((r) => r.item).sort(), [...secondCodes].sort(), 'each outcome stored once');
    await phone.page.locator('button[name=back-to-points]').click();
    await phone.page.locator('.inspect-progress', { hasText: '已测 1/1 个点位' }).waitFor();

    // The office reads a higher score, and the trend lists both inspections, the second higher.
    await office.page.reload();
    await panel.locator('.big[data-readiness]').waitFor({ timeout: 60_000 });
    const trend = panel.locator('table.readiness-trend tr');
    await trend.nth(1).waitFor();
    const rows = await trend.evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText.trim())));
    assert.deepEqual(rows.map((r) => r[0]), ['第 1 次模拟测评', '第 2 次模拟测评']);
    const [firstScore, secondScore] = rows.map((r) => Number.parseFloat(r[2]));
    assert.ok(secondScore > firstScore, `the second inspection scores higher: ${rows.join(' | ')}`);
    assert.equal(rows[1][2], '100.0%');
    const later = await panel.locator('.big[data-readiness]').innerText();
    assert.ok(Number.parseFloat(later) > Number.parseFloat(pctText), `readiness rose: ${pctText} → ${later}`);
    await panel.locator('table.readiness-trend').scrollIntoViewIfNeeded();
    await screenshot(office.page, 'inspection-office-second');

    for (const p of [office, phone]) {
      assert.deepEqual(p.problems.pageErrors, []);
      assert.deepEqual(p.problems.foreignRequests, []);
    }
    await office.context.close();
    await phone.context.close();
  });
});
