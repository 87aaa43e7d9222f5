// The street office's problem table, as the office uses it on a desktop: signed in through the
// form, each row reads case number, place, zone and responsible chief; a click on 截止时间 sorts
// by deadline; 只看超期 leaves the overdue rows in red; 导出 CSV downloads exactly the rows and
// columns on screen (parsed here). Run: `node --test office_table.test.mjs` (after
// `cargo build -p civmap` and `npm run build` in web/). Screenshots land in tests/artifacts/.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdirSync, readFileSync } from 'node:fs';
import { ARTIFACTS, DESKTOP, getJson, launchBrowser, openPage, screenshot, startServer } from './support.mjs';

/** The password of every `--demo` account (README, "Accounts"). */
const DEMO_PASSWORD = 'civmap-demo';
/** A static API token for the test's own checks of what the server holds (the page signs in with its form). */
const OFFICE_TOKEN = process.env.CIVMAP_TEST_OFFICE_TOKEN ?? 'browser-test-office-0123456789';

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

/** RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) without its UTF-8 BOM, as rows of cells. */
function parseCsv(text) {
  assert.equal(text.charCodeAt(0), 0xfeff, 'a UTF-8 BOM, so Excel reads the Chinese');
  const s = text.slice(1);
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** The table on screen: header texts and the cells of every row drawn. */
function readTable(page) {
  return page.evaluate(() => {
    const table = document.querySelector('.problems-table');
    const head = [...table.querySelectorAll('thead th')].map((th) => th.textContent.replace(/[▲▼]/g, '').trim());
    const rows = [...table.querySelectorAll('tbody tr')].map((tr) => ({
      id: tr.getAttribute('data-problem'),
      late: tr.classList.contains('late'),
      cells: [...tr.cells].map((td) => td.textContent.trim()),
    }));
    return { head, rows };
  });
}

/** Waits until the table has rows and no request of it is under way. */
async function tableSettled(page) {
  await page.locator('.problems-table tbody tr').first().waitFor();
  await page.waitForFunction(() => !/加载/.test(document.querySelector('.table-head .count')?.textContent ?? '加载'));
}

/** `已超期 3 天` → [3, '天']. */
function overdueSpan(text) {
  const m = /^已超期 (\d+) (天|小时|分钟)$/.exec(text);
  assert.ok(m, `overdue in words: ${JSON.stringify(text)}`);
  return [Number(m[1]), m[2]];
}

describe('the street office problem table', () => {
  test('case number, place, zone and chief per row; sort by deadline; overdue only; the CSV is the same table', async () => {
    const { page, context } = await openPage(browser, server.base, { viewport: DESKTOP });
    await page.goto(`${server.base}/#/office`);
    await page.waitForFunction(() => window.__civmap?.app);
    await page.locator('input[name=login-name]').fill('demo-office');
    await page.locator('input[name=login-password]').fill(DEMO_PASSWORD);
    await page.locator('.login-form button[type=submit]').click();
    await page.locator('.signed-in[data-user=demo-office]').waitFor();
    await tableSettled(page);
    await screenshot(page, 'office-table-columns-desktop');

    // The columns a 数字城管 console shows, in Chinese.
    let t = await readTable(page);
    assert.deepEqual(t.head, ['案件编号', '类别', '位置', '片区', '责任人', '状态', '上报时间', '截止时间', '超期']);
    assert.ok(t.rows.length > 0);
    // The table fits the desktop: no sideways scrolling at 1366 px.
    const overflow = await page.evaluate(() => {
      const w = document.querySelector('.table-wrap');
      return w.scrollWidth - w.clientWidth;
    });
    assert.ok(overflow <= 1, `the table fits the panel (${overflow} px too wide)`);

    // A dispatched row names its case number, place, zone and chief as the server holds them.
    const dispatched = t.rows.find((r) => r.cells[3] !== '—' && r.cells[4] !== '—');
    assert.ok(dispatched, 'a row with a zone and a chief');
    const f = await getJson(server.base, `/api/v1/problems/${dispatched.id}`, OFFICE_TOKEN);
    const [caseNo, , place, zone, chief] = dispatched.cells;
    assert.equal(caseNo, f.properties.case_no ?? f.id, 'the case number');
    if (f.properties.case_no) assert.match(caseNo, /^CM\d{6}-\d{4}$/, 'a case number people can quote');
    assert.ok(place.length > 0, 'a place');
    if (f.properties.place) assert.equal(place, f.properties.place);
    if (f.properties.zone_name) assert.equal(zone, f.properties.zone_name);
    if (f.properties.assignee_name) assert.equal(chief, f.properties.assignee_name);
    assert.equal(await page.locator(`tr[data-problem="${dispatched.id}"] td.case-no a`).getAttribute('href'), `/p/${encodeURIComponent(caseNo)}`);

    // Sorted by deadline: soonest first, problems without one last.
    await page.locator('th[data-sort=deadline] button').click();
    await page.locator('th[data-sort=deadline][aria-sort=ascending]').waitFor();
    await tableSettled(page);
    t = await readTable(page);
    const deadlines = t.rows.map((r) => r.cells[7]);
    const dated = deadlines.filter((d) => d !== '—');
    assert.ok(dated.length > 1, 'rows with deadlines');
    assert.deepEqual(dated, [...dated].sort(), 'soonest deadline first');
    assert.ok(deadlines.indexOf('—') === -1 || deadlines.slice(deadlines.indexOf('—')).every((d) => d === '—'), 'no deadline last');
    for (const d of dated) assert.match(d, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    await screenshot(page, 'office-table-by-deadline-desktop');

    // Only the overdue ones: every row red, "已超期 N 天/小时".
    await page.locator('input[name=overdue]').check();
    await page.waitForFunction(() => [...document.querySelectorAll('.problems-table tbody tr')].every((tr) => tr.classList.contains('late')));
    await tableSettled(page);
    t = await readTable(page);
    assert.ok(t.rows.length > 0, 'the demo has overdue problems');
    for (const r of t.rows) overdueSpan(r.cells[8]);
    const red = await page.locator('.problems-table tbody tr td.late.overdue').first().evaluate((td) => getComputedStyle(td).color);
    assert.equal(red, 'rgb(185, 28, 28)', 'overdue in red');
    await screenshot(page, 'office-table-overdue-desktop');

    // The CSV: the same columns and the same rows, in the same order.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('button[name=csv]').click()]);
    assert.equal(download.suggestedFilename(), 'civmap-problems.csv');
    const csv = parseCsv(readFileSync(await download.path(), 'utf8'));
    assert.deepEqual(csv[0], t.head, 'the columns on screen');
    const lines = csv.slice(1);
    const total = Number(/共 (\d+) 条/.exec(await page.locator('.table-head .count').innerText())[1]);
    assert.equal(lines.length, total, 'every row the filter matches');
    const dash = (s) => (s === '—' ? '' : s);
    for (const [i, r] of t.rows.entries()) {
      const line = lines[i];
      assert.deepEqual(line.slice(0, 8), r.cells.slice(0, 8).map(dash), `row ${i + 1}`);
      // Overdue is measured when each answer is made: the same unit, at most one apart.
      const [a, ua] = overdueSpan(line[8]);
      const [b, ub] = overdueSpan(r.cells[8]);
      assert.ok(ua === ub && Math.abs(a - b) <= 1, `row ${i + 1}: ${line[8]} vs ${r.cells[8]}`);
    }

    // A text search by case number finds that row alone.
    await page.locator('input[name=overdue]').uncheck();
    await page.locator('input[name=q]').fill(caseNo);
    await page.waitForFunction((c) => {
      const rows = document.querySelectorAll('.problems-table tbody tr');
      return rows.length === 1 && rows[0].getAttribute('data-case') === c;
    }, caseNo);
    await screenshot(page, 'office-table-search-desktop');

    // That problem opens; the office issues a rectification notice (整改通知单) to the unit
    // responsible for it: without a unit it is told so in Chinese, then the notice is numbered,
    // recorded in the history and prints with the place in words.
    await page.locator('.problems-table tbody tr').first().click();
    const detail = page.locator('.detail');
    await detail.locator('button[data-action=open-notice]').click();
    await detail.locator('button[data-action=issue-notice]').click();
    await detail.locator('[data-field=unit]', { hasText: '请填写责任单位' }).waitFor();
    await detail.locator('input[name=notice-unit]').fill('同济新村物业公司');
    await detail.locator('input[name=notice-days]').fill('5');
    await detail.locator('button[data-action=issue-notice]').click();
    const issued = detail.locator('.notice-actions [role=status]');
    await issued.waitFor();
    const number = /整改通知 \d{4}-\d{4}/.exec(await issued.innerText())?.[0];
    assert.ok(number, `the notice's number is shown: ${await issued.innerText()}`);
    await detail.locator('.history li', { hasText: number }).waitFor();
    await screenshot(page, 'office-notice-issued-desktop');
    const [sheet] = await Promise.all([context.waitForEvent('page'), issued.locator('a[data-action=print-notice]').click()]);
    await sheet.waitForLoadState();
    await sheet.locator('h1', { hasText: '整改通知单' }).waitFor();
    const text = await sheet.locator('body').innerText();
    assert.ok(text.includes(number) && text.includes('同济新村物业公司'), text);
    assert.ok(f.properties.place, 'the demo problem has a place in words');
    assert.ok(text.includes(f.properties.place), `the place in words (${f.properties.place}), not coordinates: ${text}`);
    assert.doesNotMatch(text, /\d{3}\.\d{5}, \d{2}\.\d{5}/, 'no lon/lat on the notice');
    await screenshot(sheet, 'office-notice-print');
    await context.close();
  });
});
