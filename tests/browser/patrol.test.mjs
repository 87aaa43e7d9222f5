// A patrol (巡查, issue 17) as people make it, against the real server on the demo data. A road-
// chief on a phone signs in through the form, starts a patrol and walks its road (the position
// moved along it several times), marks the road "已检查，无问题"; the page is reloaded and the
// patrol goes on; the network is cut, a second check with a photo waits on the phone ("1 条待发送");
// the network returns, it is sent; the patrol is ended; from the road's point code the chief
// checks it clean once more, without a patrol. Then the street office, on a desktop,
// sees the patrol: the road's metres walked, its checks, and the zones nobody visited, in
// Chinese, on the map (red, with a legend line) and in the table.
// Run: `node --test patrol.test.mjs` (after `cargo build -p civmap` and `npm run build` in web/).
// Screenshots land in tests/artifacts/.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdirSync } from 'node:fs';
import { ARTIFACTS, DESKTOP, PHONE, getJson, launchBrowser, makePng, openPage, renderedFeatures, screenshot, startServer, waitIdle } from './support.mjs';

/** The password of every `--demo` account (README, "Accounts"). */
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

async function signIn(page, name) {
  await page.locator('input[name=login-name]').fill(name);
  await page.locator('input[name=login-password]').fill(DEMO_PASSWORD);
  await page.locator('.login-form button[type=submit]').click();
  await page.locator(`.signed-in[data-user="${name}"]`).waitFor();
}

/** A road-chief of the demo and one of its road zones (with its outline). */
async function roadChief() {
  const assignments = await getJson(server.base, '/api/v1/assignments', OFFICE_TOKEN);
  const chiefs = await getJson(server.base, '/api/v1/chiefs', OFFICE_TOKEN);
  for (const a of assignments) {
    const chief = chiefs.find((c) => c.id === a.user);
    if (!chief || chief.role !== 'road_chief') continue;
    const zone = await getJson(server.base, `/api/v1/zones/${a.zone}`, OFFICE_TOKEN);
    if (zone.properties.kind === 'road') return { chief, zone };
  }
  throw new Error('the demo has no road-chief with a road zone');
}

/**
 * Positions along the road of a road zone (a buffered road): each vertex of one half of its
 * outline paired with the nearest vertex of the other half — across the road — and the middle of
 * the two taken, which lies on the road; `n` of them, evenly spread, in the outline's order.
 */
function walkAlong(zone, n) {
  const ring = zone.geometry.type === 'Polygon' ? zone.geometry.coordinates[0] : zone.geometry.coordinates[0][0];
  const half = Math.floor(ring.length / 2);
  const [a, b] = [ring.slice(0, half), ring.slice(half)];
  const d2 = (p, q) => ((p[0] - q[0]) * Math.cos((p[1] * Math.PI) / 180)) ** 2 + (p[1] - q[1]) ** 2;
  const middle = a.map((p) => {
    const q = b.reduce((best, x) => (d2(p, x) < d2(p, best) ? x : best));
    return [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2];
  });
  // Evenly spread by distance along the road, away from its ends.
  const along = [0];
  for (let i = 1; i < middle.length; i++) along.push(along[i - 1] + Math.sqrt(d2(middle[i - 1], middle[i])));
  const total = along[along.length - 1];
  const out = [];
  for (let i = 0; i < n; i++) {
    const want = (total * (i + 1)) / (n + 1);
    out.push(middle[along.findIndex((x) => x >= want)]);
  }
  return out;
}

const fixesShown = (page) => page.locator('.patrol-fixes').innerText().then((s) => Number.parseInt(s, 10));

/** Moves the phone to `[lon, lat]` and waits until the patrol kept one more position. */
async function moveTo(page, context, [lon, lat]) {
  const before = await fixesShown(page);
  await context.setGeolocation({ longitude: lon, latitude: lat, accuracy: 8 });
  await page.waitForFunction((n) => Number.parseInt(document.querySelector('.patrol-fixes')?.textContent ?? '0', 10) > n, before, { timeout: 30_000 });
}

describe('patrols', () => {
  test('a road-chief walks its road, checks it clean online and offline, ends; the office sees it', async () => {
    const { chief, zone } = await roadChief();
    const zid = zone.properties.id;
    const walk = walkAlong(zone, 6);
    console.log(`chief ${chief.name}, road ${zone.properties.name} (${zid}), walk ${JSON.stringify(walk)}`);
    const [lon0, lat0] = walk[0];
    const { page, context, problems } = await openPage(browser, server.base, { viewport: PHONE, geolocation: { longitude: lon0 + 0.00002, latitude: lat0, accuracy: 8 } });
    await page.goto(`${server.base}/#/chief?zone=${zid}`);
    await signIn(page, chief.name);

    // 开始巡查: the panel counts time, metres and positions.
    await page.locator('button[name=patrol-start]').click();
    await page.locator('.patrol[data-patrol=on]').waitFor();
    assert.equal((await page.locator('.patrol-title').innerText()).trim(), '巡查中');
    // A fresh fix where the walk starts (the phone's last one may be too old to count).
    await context.setGeolocation({ longitude: lon0, latitude: lat0, accuracy: 8 });
    await page.waitForFunction(() => Number.parseInt(document.querySelector('.patrol-fixes')?.textContent ?? '0', 10) >= 1);
    for (const p of walk.slice(1, 4)) await moveTo(page, context, p);
    const metres = Number(await page.locator('.patrol-distance').getAttribute('data-metres'));
    assert.ok(metres > 20, `metres walked shown (${metres})`);
    assert.match((await page.locator('.patrol-distance').innerText()).trim(), /^已走 \d+ 米$/);
    assert.match((await page.locator('.patrol-elapsed').innerText()).trim(), /^已用时 \d+:\d\d$/);

    // 已检查，无问题 with the network on: sent at once.
    await page.locator('button[name=check-clean]').click();
    await page.locator(`.patrol-checked[data-zone="${zid}"]`).waitFor();
    assert.equal((await page.locator('.patrol-checked').innerText()).trim(), `已记录：${zone.properties.name} 已检查，无问题`);
    await page.waitForFunction(() => !document.querySelector('.outbox'), null, { timeout: 30_000 });
    await screenshot(page, 'patrol-1-walking-checked-phone');

    // A reload does not end the patrol: same patrol, same positions, the clock runs on.
    const id = await page.locator('.patrol[data-patrol=on]').getAttribute('data-patrol-id');
    const kept = await fixesShown(page);
    await page.reload();
    await page.locator(`.patrol[data-patrol-id="${id}"]`).waitFor();
    assert.equal(await fixesShown(page), kept, 'the positions survive the reload');

    // No signal: the walk goes on, a second check with a photo waits on the phone.
    await context.setOffline(true);
    await moveTo(page, context, walk[4]);
    await page.locator('input[name=check-photo]').setInputFiles({ name: 'clean.png', mimeType: 'image/png', buffer: makePng() });
    await page.locator('.patrol-check img.photo-preview:not([hidden])').waitFor();
    await page.locator('button[name=check-clean]').click();
    await page.waitForFunction(() => document.querySelector('.outbox-count')?.textContent === '1 条待发送');
    assert.match(await page.locator('.outbox-item[data-kind=check-in]').innerText(), /已检查/);
    await screenshot(page, 'patrol-2-check-queued-offline-phone');

    // The signal is back: sent; then 结束巡查.
    await context.setOffline(false);
    await page.waitForFunction(() => !document.querySelector('.outbox'), null, { timeout: 60_000 });
    await moveTo(page, context, walk[5]);
    const walked = Number(await page.locator('.patrol-distance').getAttribute('data-metres'));
    await page.locator('button[name=patrol-end]').click();
    await page.locator('.patrol-ended').waitFor();
    assert.equal((await page.locator('.patrol-ended').innerText()).trim(), `巡查已结束，共走 ${walked} 米。`);
    await page.waitForFunction(() => !document.querySelector('.outbox'), null, { timeout: 60_000 });
    await screenshot(page, 'patrol-3-ended-phone');

    // From the point code (点位码) of its road, without a patrol: "已检查，无问题" beside "report here".
    await page.goto(`${server.base}/#/report?zone=${zid}&at=${walk[2][0]},${walk[2][1]}`);
    await page.locator('[data-point-code]').waitFor();
    await page.locator('button[name=code-clean]').click();
    const codeDone = page.locator('.code-checked');
    await codeDone.waitFor();
    assert.equal((await codeDone.innerText()).trim(), `已记录：${zone.properties.name} 已检查，无问题`);
    await page.waitForFunction(() => !document.querySelector('.outbox'), null, { timeout: 30_000 });
    await screenshot(page, 'patrol-3b-point-code-clean-phone');
    assert.deepEqual(problems.pageErrors, []);
    await context.close();

    // What the server holds: one ended patrol with its track, two checks of the road.
    const stored = (await getJson(server.base, '/api/v1/patrols', OFFICE_TOKEN)).filter((p) => p.id === id);
    assert.equal(stored.length, 1, 'the patrol is stored once');
    assert.ok(stored[0].ended_at, 'ended');
    assert.ok(stored[0].track.length >= 6, `track of ${stored[0].track.length} positions`);
    const coverage = await getJson(server.base, '/api/v1/patrol-coverage', OFFICE_TOKEN);
    const row = coverage.zones.find((z) => z.zone === zid);
    assert.equal(row.checks, 3, 'three checks (two on the patrol, one from the point code), each stored once');
    assert.equal(row.patrols, 1);
    assert.equal(row.unvisited, false);
    assert.ok(row.walked_m > 0, `metres walked inside the road (${row.walked_m})`);
    const unvisited = coverage.zones.filter((z) => z.unvisited);
    assert.ok(unvisited.length > 0, 'the demo has roads and points nobody walked');
    console.log(`road ${zone.properties.name}: walked ${row.walked_m} m of ${row.road_m} m; ${unvisited.length} zones unvisited for ${coverage.unvisited_days} days`);

    // The street office, on a desktop: the table, the red zones and the legend.
    const desk = await openPage(browser, server.base, { viewport: DESKTOP });
    await desk.page.goto(`${server.base}/#/office`);
    await signIn(desk.page, 'demo-office');
    const panel = desk.page.locator('.patrol-coverage');
    await panel.locator('table.patrol-table').waitFor({ timeout: 60_000 });
    await panel.scrollIntoViewIfNeeded();
    assert.match((await panel.locator('.patrol-summary').innerText()).trim(), /巡查 \d+ 次$/);
    const line = (await panel.locator('.patrol-unvisited').innerText()).trim();
    assert.ok(line.startsWith(`7 天无人巡查的点位/路段：${unvisited.length} 个：`), line);
    const tr = panel.locator(`tr[data-zone="${zid}"]`);
    const cells = await tr.locator('td').allInnerTexts();
    assert.equal(cells[0].trim(), zone.properties.name);
    assert.equal(cells[1].trim(), '1');
    assert.equal(cells[2].trim(), `${Math.round(row.walked_m)} 米 / ${Math.round(row.road_m)} 米`);
    assert.equal(cells[3].trim(), '3');
    const first = panel.locator(`tr[data-zone="${unvisited[0].zone}"] .badge`);
    assert.equal((await first.innerText()).trim(), '7 天未巡查');
    const legend = desk.page.locator('.patrol-legend');
    assert.equal((await legend.locator('li[data-kind=unvisited] .legend-name').innerText()).trim(), '红色：7 天无人巡查');
    // The unvisited zones are drawn: at the first one, the red layer has features.
    const ring = (await getJson(server.base, `/api/v1/zones/${unvisited[0].zone}`, OFFICE_TOKEN)).geometry;
    const pts = ring.type === 'Polygon' ? ring.coordinates[0] : ring.coordinates[0][0];
    const centre = pts.reduce(([x, y], [a, b]) => [x + a / pts.length, y + b / pts.length], [0, 0]);
    await desk.page.evaluate((c) => window.__civmap.map.jumpTo({ center: c, zoom: 16 }), centre);
    await waitIdle(desk.page);
    const red = await renderedFeatures(desk.page, ['patrol-unvisited']);
    assert.ok(red.length > 0, 'unvisited zones are drawn red');
    await screenshot(desk.page, 'patrol-4-office-unvisited-desktop');
    await desk.page.evaluate((c) => window.__civmap.map.jumpTo({ center: c, zoom: 16 }), walk[2]);
    await waitIdle(desk.page);
    const tracks = await renderedFeatures(desk.page, ['patrol-tracks']);
    assert.ok(tracks.some((f) => f.id === id), 'the patrol track is drawn');
    await screenshot(desk.page, 'patrol-5-office-track-desktop');
    await desk.context.close();
  });
});
