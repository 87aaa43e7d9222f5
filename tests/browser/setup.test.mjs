// Browser test of the street set-up console (`#/setup`) against the real server on the demo data,
// in Debian's headless chromium, desktop viewport: the street office signs in through the visible
// form, opens 街道设置, draws an area zone with mouse clicks on the map, is told in Chinese that it
// needs a name, names and saves it, assigns a chief BY NAME and sees the coverage summary change,
// clicks the zone on the map to read its name and chief, downloads its rectification ledger for
// three years, everything and a past year, unassigns, and adds a wet market whose
// surroundings zone appears at once. Screenshots: tests/artifacts/setup-*.png.
//
// Run: `node --test setup.test.mjs` (after `cargo build -p civmap` and `npm run build` in web/).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, getJson, launchBrowser, openPage, screenshot, startServer, toPage, waitIdle } from './support.mjs';

/** The password of every `--demo` account (README, "Accounts"). */
const DEMO_PASSWORD = 'civmap-demo';
/** A static token for the test's own reads of what the server stored (the page signs in by its form). */
const OFFICE_TOKEN = process.env.CIVMAP_TEST_OFFICE_TOKEN ?? 'browser-test-office-setup-0123456789';

const CONFIG = `
[auth]
login_per_minute = 1000

[[api_tokens]]
token = "${OFFICE_TOKEN}"
role = "street_office"
name = "browser test: street office (set-up)"
`;

/** `未覆盖 12 个网格单元，重叠 3 处` as read from the screen. */
const SUMMARY = /未覆盖 (\d+) 个网格单元，重叠 (\d+) 处/;

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

/** The coverage summary's two numbers, read from the page's text. */
async function readSummary(page) {
  const text = await page.locator('.coverage-summary strong').innerText();
  const m = SUMMARY.exec(text);
  assert.ok(m, `the summary reads "${text}"`);
  return { text, uncovered: Number(m[1]), overlaps: Number(m[2]) };
}

/** Waits until the summary on the screen differs from `before`, and answers it. */
async function summaryChangedFrom(page, before) {
  await page.waitForFunction((t) => {
    const el = document.querySelector('.coverage-summary strong');
    return el && el.textContent !== t;
  }, before.text);
  return readSummary(page);
}

describe('street set-up console', () => {
  test('the street office draws a zone, names it, assigns a chief by name and sees the coverage change', async () => {
    // The east half of the demo street, whose area-chief is 片长·东片: a zone drawn there and given
    // to 片长·西片 overlaps the east chief's area, a pair of chiefs that did not overlap before.
    const zones = await getJson(server.base, '/api/v1/zones?kind=area&limit=100', OFFICE_TOKEN);
    const east = zones.features.find((f) => f.properties.name === '演示片区·东');
    assert.ok(east, 'the demo has its east area');
    const ring = east.geometry.coordinates[0];
    const lons = ring.map((c) => c[0]);
    const lats = ring.map((c) => c[1]);
    const centre = [(Math.min(...lons) + Math.max(...lons)) / 2, (Math.min(...lats) + Math.max(...lats)) / 2];

    const { page, context, problems } = await openPage(browser, server.base, { viewport: DESKTOP });
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${server.base}/#map=17/${centre[1].toFixed(5)}/${centre[0].toFixed(5)}`);
    // 街道设置 in the navigation, then the visible sign-in form.
    await page.locator('nav a', { hasText: '街道设置' }).click();
    await page.locator('h2.panel-title', { hasText: '街道设置' }).waitFor();
    await page.locator('input[name=login-name]').fill('demo-office');
    await page.locator('input[name=login-password]').fill(DEMO_PASSWORD);
    await page.locator('form.login-form button[type=submit]').click();
    await page.locator('.signed-in[data-user=demo-office]').waitFor();
    await page.locator('.coverage-summary').waitFor({ timeout: 60_000 });
    const first = await readSummary(page);
    // The legend names every kind in Chinese.
    for (const name of ['点位', '路段', '三个周边', '片区', '网格单元', '未覆盖', '重叠']) {
      await page.locator('.zone-legend', { hasText: name }).first().waitFor();
    }
    await page.locator('.action-row .muted', { hasText: /共 \d+ 个区域/ }).waitFor();
    await waitIdle(page);
    await screenshot(page, 'setup-start');

    // A new area: four corners clicked on the map, then the first again to close it.
    await page.locator('button[name=new-zone]').click();
    await page.locator('select[name=what]').selectOption('area');
    await page.locator('button[name=draw]').click();
    await page.locator('.draw-hint', { hasText: '依次点击' }).waitFor();
    const c = await toPage(page, centre);
    const corners = [
      [c.x - 90, c.y - 70],
      [c.x + 90, c.y - 70],
      [c.x + 90, c.y + 70],
      [c.x - 90, c.y + 70],
    ];
    for (const [x, y] of corners) {
      await page.mouse.move(x, y, { steps: 4 });
      await page.mouse.click(x, y);
      await page.waitForTimeout(150);
    }
    await page.mouse.move(corners[0][0], corners[0][1], { steps: 4 });
    await page.mouse.click(corners[0][0], corners[0][1]);
    await page.locator('.drawn', { hasText: '已画好' }).waitFor();

    // Saving without a name: the server refuses, the person reads why in Chinese.
    await page.locator('button[name=save-zone]').click();
    // Beside the name field.
    await page.locator('[data-error-for=zone-name]', { hasText: '请填写区域名称' }).waitFor();
    await screenshot(page, 'setup-error-no-name');

    const name = '测试片区·东段';
    await page.locator('input[name=zone-name]').fill(name);
    await page.locator('button[name=save-zone]').click();
    await page.locator('.setup-message', { hasText: `已保存：${name}` }).waitFor();
    const card = page.locator('.zone-card');
    await card.locator('.zone-name', { hasText: name }).waitFor();
    assert.equal(await card.locator('.zone-kind').innerText(), '片区');
    await card.locator('text=尚未指派责任人').waitFor();
    // Stored as drawn: an area around the clicked corners.
    const stored = await getJson(server.base, '/api/v1/zones?kind=area&limit=100', OFFICE_TOKEN);
    const mine = stored.features.find((f) => f.properties.name === name);
    assert.ok(mine, 'the zone is stored');
    assert.equal(mine.properties.kind, 'area');
    // A saved zone with no chief changes no coverage figure yet.
    const afterSave = await readSummary(page);
    assert.deepEqual([afterSave.uncovered, afterSave.overlaps], [first.uncovered, first.overlaps]);

    // Assign 片长·西片 by name from the list of the street's chiefs.
    const options = await card.locator('select[name=chief] option').allInnerTexts();
    const label = options.find((o) => o.startsWith('片长·西片'));
    assert.ok(label, `the chief list names 片长·西片: ${options.join(' | ')}`);
    await card.locator('select[name=chief]').selectOption({ label });
    await card.locator('button[name=assign]').click();
    await page.locator('.setup-message', { hasText: '已指派：片长·西片' }).waitFor();
    await card.locator('.chief-name', { hasText: '片长·西片' }).waitFor();
    const assigned = await summaryChangedFrom(page, afterSave);
    assert.ok(assigned.overlaps > first.overlaps, `overlaps ${first.overlaps} → ${assigned.overlaps}`);
    assert.equal(assigned.uncovered, first.uncovered, 'nothing was uncovered by assigning more');
    await waitIdle(page);
    await screenshot(page, 'setup-assigned');

    // Clicking the zone on the map shows its name, kind and chief.
    await card.locator('button', { hasText: '关闭' }).click();
    await page.locator('text=点击地图上的区域').waitFor();
    await page.mouse.click(c.x, c.y);
    await card.locator('.zone-name', { hasText: name }).waitFor();
    await card.locator('.chief-name', { hasText: '片长·西片' }).waitFor();

    // The zone's rectification ledger (整改台账), the last three years by default: a CSV named for
    // the zone and the period, its lines the events of the demo problems inside the zone, in
    // China Standard Time and with what each step did in Chinese; a year before the demo holds none.
    assert.equal(await card.locator('select[name=ledger-period] option:checked').innerText(), '近三年');
    const ledger = async (label) => {
      if (label) await card.locator('select[name=ledger-period]').selectOption({ label });
      const [download] = await Promise.all([page.waitForEvent('download'), card.locator('button[name=ledger]').click()]);
      const text = readFileSync(await download.path(), 'utf8');
      const [head, ...rows] = text.trim().split(/\r?\n/);
      const cols = head.replace(/^\ufeff/, '').split(',');
      return { name: download.suggestedFilename(), cols, rows: rows.map((r) => r.split(',')) };
    };
    const recent = await ledger(null);
    assert.equal(recent.name, `整改台账-${name}-近三年.csv`);
    assert.ok(recent.rows.length > 0, 'the drawn zone holds demo problems with their steps');
    const at = recent.cols.indexOf('at');
    const said = recent.cols.indexOf('event_zh');
    assert.ok(recent.rows.every((r) => r[at].endsWith('+08:00')), recent.rows.map((r) => r[at]).join(' '));
    assert.ok(recent.rows.some((r) => r[said] === '网格员上报问题' || r[said] === '问题上报'), recent.rows.map((r) => r[said]).join(' '));
    const all = await ledger('全部');
    assert.equal(all.rows.length, recent.rows.length, 'the demo is younger than three years');
    const year = new Date(Date.now() + 8 * 3_600_000).getUTCFullYear() - 2;
    const old = await ledger(`${year} 年`);
    assert.equal(old.name, `整改台账-${name}-${year}年.csv`);
    assert.ok(old.rows.every((r) => r[at].startsWith(String(year))), `every line of ${year} is of ${year}`);

    // Unassigning gives the coverage of the start back.
    await card.locator('.chief-list button', { hasText: '取消指派' }).click();
    await page.locator('.setup-message', { hasText: '已取消指派：片长·西片' }).waitFor();
    const unassigned = await summaryChangedFrom(page, assigned);
    assert.deepEqual([unassigned.uncovered, unassigned.overlaps], [first.uncovered, first.overlaps]);

    // Editing the outline: the south-east corner dragged 40 px east and 30 px south.
    await card.locator('button[name=edit-zone]').click();
    await page.locator('.draw-hint', { hasText: '拖动角点' }).waitFor();
    await waitIdle(page);
    const [sx, sy] = corners[2];
    await page.mouse.move(sx, sy, { steps: 4 });
    await page.mouse.down();
    await page.mouse.move(sx + 40, sy + 30, { steps: 12 });
    await page.mouse.up();
    await page.locator('button[name=save-zone]').click();
    await page.locator('.setup-message', { hasText: `已保存：${name}` }).waitFor();
    const edited = (await getJson(server.base, '/api/v1/zones?kind=area&limit=100', OFFICE_TOKEN)).features.find((f) => f.properties.name === name);
    const maxLon = (f) => Math.max(...f.geometry.coordinates[0].map((p) => p[0]));
    const minLat = (f) => Math.min(...f.geometry.coordinates[0].map((p) => p[1]));
    assert.ok(maxLon(edited) > maxLon(mine), `the corner moved east: ${maxLon(mine)} → ${maxLon(edited)}`);
    assert.ok(minLat(edited) < minLat(mine), `the corner moved south: ${minLat(mine)} → ${minLat(edited)}`);
    // The map shows the new outline once the zones are read again.
    await page.waitForFunction(
      ({ id, lon }) => {
        const data = window.__civmap.map.getSource('setup-zones')?.serialize().data;
        const f = data?.features?.find((x) => x.properties.id === id);
        return f && Math.max(...f.geometry.coordinates[0].map((p) => p[0])) === lon;
      },
      { id: edited.properties.id, lon: maxLon(edited) },
    );
    await waitIdle(page);
    await screenshot(page, 'setup-edited');

    // A road stretch: a line clicked on the map (the last point twice), 12 m each side.
    if (await card.count()) await card.locator('button', { hasText: '关闭' }).click();
    await page.locator('button[name=new-zone]').click();
    await page.locator('select[name=what]').selectOption('road');
    await page.locator('input[name=width]').fill('12');
    await page.locator('button[name=draw]').click();
    await page.locator('.draw-hint', { hasText: '路段' }).waitFor();
    const line = [
      [c.x - 320, c.y + 160],
      [c.x - 150, c.y + 220],
    ];
    for (const [x, y] of [...line, line[1]]) {
      await page.mouse.move(x, y, { steps: 4 });
      await page.mouse.click(x, y);
      await page.waitForTimeout(150);
    }
    await page.locator('.drawn').waitFor();
    await page.locator('input[name=zone-name]').fill('测试路段');
    await page.locator('button[name=save-zone]').click();
    await page.locator('.setup-message', { hasText: '已保存：测试路段' }).waitFor();
    await card.locator('.zone-name', { hasText: '测试路段' }).waitFor();
    assert.equal(await card.locator('.zone-kind').innerText(), '路段');
    const road = (await getJson(server.base, '/api/v1/zones?kind=road&limit=1000', OFFICE_TOKEN)).features.find((f) => f.properties.name === '测试路段');
    assert.ok(road && ['Polygon', 'MultiPolygon'].includes(road.geometry.type), 'the stretch is stored as a buffered polygon');

    // A wet market OpenStreetMap lacks, as a point: its surroundings zone is made at once.
    await card.locator('button', { hasText: '关闭' }).click();
    await page.locator('button[name=new-zone]').click();
    await page.locator('select[name=what]').selectOption('market');
    await page.locator('button[name=draw]').click();
    await page.mouse.move(c.x + 400, c.y + 40, { steps: 4 });
    await page.mouse.click(c.x + 400, c.y + 40);
    await page.locator('.drawn').waitFor();
    await page.locator('input[name=zone-name]').fill('测试菜场');
    await page.locator('button[name=save-zone]').click();
    await page.locator('.setup-message', { hasText: '已添加：测试菜场，已生成周边区域' }).waitFor();
    await card.locator('.zone-name', { hasText: '测试菜场 周边 150 m' }).waitFor();
    assert.equal(await card.locator('.zone-kind').innerText(), '三个周边（菜场）');
    const pois = await getJson(server.base, '/api/v1/pois?kind=market&limit=100', OFFICE_TOKEN);
    assert.ok(
      pois.features.some((f) => f.properties.name === '测试菜场'),
      'the market is stored',
    );
    await waitIdle(page);
    await screenshot(page, 'setup-market');

    // Deleting the drawn zone.
    await page.locator('button', { hasText: '关闭' }).click();
    await page.mouse.click(c.x - 60, c.y - 50);
    await card.locator('.zone-name', { hasText: name }).waitFor();
    await card.locator('button[name=delete-zone]').click();
    await page.locator('.setup-message', { hasText: `已删除：${name}` }).waitFor();
    const gone = await getJson(server.base, '/api/v1/zones?kind=area&limit=100', OFFICE_TOKEN);
    assert.ok(!gone.features.some((f) => f.properties.name === name), 'the zone is deleted');

    // The refused save answered 422; nothing else failed, nothing left the server.
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(problems.foreignRequests, []);
    assert.deepEqual(
      problems.httpErrors.filter((e) => !/^422 POST .*\/api\/v1\/zones/.test(e)),
      [],
    );
    await context.close();
  });
});
