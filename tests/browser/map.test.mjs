// Browser tests of the civmap front end against the real server on the demo data, in Debian's
// headless chromium. Run: `npm ci && node --test map.test.mjs` (after `cargo build -p civmap` and
// `npm run build` in web/). Screenshots land in tests/artifacts/.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ARTIFACTS,
  DESKTOP,
  PHONE,
  getJson,
  grabPixels,
  launchBrowser,
  makePng,
  openPage,
  pixelDifference,
  renderedFeatures,
  screenshot,
  startServer,
  toPage,
  waitForMap,
  waitIdle,
} from './support.mjs';

const POINT_LAYERS = ['problem-points'];
/** The password of every `--demo` account (README, "Accounts"). */
const DEMO_PASSWORD = 'civmap-demo';
const CLUSTER_LAYERS = ['problem-clusters'];

// Staff tokens for the tests' own API calls (checking what the server stored, acting as a chief
// from outside the page): static API tokens of the server's configuration. The pages themselves
// sign in only through their visible password form, as people do. The street office token acts
// as the system (no user); the chief token acts as the chief the demo assigns to a zone, found
// through the API after a first start. Against a server started by hand (CIVMAP_TEST_BASE) the
// tokens and the chief's id come from the environment.
const OFFICE = { token: process.env.CIVMAP_TEST_OFFICE_TOKEN ?? 'browser-test-office-0123456789' };
const CHIEF = {
  token: process.env.CIVMAP_TEST_CHIEF_TOKEN ?? 'browser-test-chief-0123456789a',
  user: process.env.CIVMAP_TEST_CHIEF_USER ?? null,
};

function config(chiefUser) {
  // Every test signs in from 127.0.0.1: more than the default 10 sign-ins a minute per address.
  let c = `
[auth]
login_per_minute = 1000

[[api_tokens]]
token = "${OFFICE.token}"
role = "street_office"
name = "browser test: street office"
`;
  if (chiefUser) {
    c += `
[[api_tokens]]
token = "${CHIEF.token}"
role = "point_chief"
user = "${chiefUser}"
name = "browser test: point-chief"
`;
  }
  return c;
}

let server;
let browser;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startServer({ config: config(null) });
  if (!server.external) {
    // Restart with a token for a chief of the demo (the data stays: `--demo` loads an empty database only).
    const assignments = await getJson(server.base, '/api/v1/assignments', OFFICE.token);
    // The chief with the most dispatched problems, so there is work to rectify.
    const dispatched = await getJson(server.base, '/api/v1/problems?status=dispatched&limit=1000', OFFICE.token);
    const load = new Map();
    for (const f of dispatched.features) {
      const who = f.properties.assignee;
      if (who && assignments.some((a) => a.user === who)) load.set(who, (load.get(who) ?? 0) + 1);
    }
    CHIEF.user = [...load.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? assignments[0]?.user ?? null;
    if (CHIEF.user) {
      await server.stop(true);
      server = await startServer({ config: config(CHIEF.user), dir: server.dir });
    }
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** No console error, no uncaught exception, nothing loaded from outside the server. */
function assertClean(problems, { allowHttp = [] } = {}) {
  assert.deepEqual(problems.pageErrors, [], 'uncaught exceptions in the page');
  const consoleErrors = problems.consoleErrors.filter((m) => !allowHttp.some((s) => m.includes(s)));
  assert.deepEqual(consoleErrors, [], 'console errors');
  assert.deepEqual(problems.foreignRequests, [], 'requests that left the server (nothing may come from the internet)');
  assert.deepEqual(problems.failedRequests.filter((r) => !r.includes('net::ERR_ABORTED')), [], 'failed requests');
  const http = problems.httpErrors.filter((r) => !allowHttp.some((s) => r.includes(s)));
  assert.deepEqual(http, [], 'HTTP errors answered to the page');
}

describe('public map', () => {
  test('renders problem points and zones, measured first render, no console errors', async () => {
    const { page, context, problems } = await openPage(browser, server.base);
    await page.goto(`${server.base}/`);
    await waitForMap(page);
    const first = await page.evaluate(() => window.__civmap.firstRenderMs);
    console.log(`first render with points (desktop, cold cache): ${first.toFixed(0)} ms after navigation start`);
    writeFileSync(join(ARTIFACTS, 'first-render.txt'), `${first.toFixed(0)} ms\n`);
    // The JavaScript the public map's first load transfers, gzipped as served (issue 15: at most
    // 450 KB): the consoles are chunks of their own, loaded when a signed-in view opens.
    const scripts = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .filter((e) => /\.js(\?|$)/.test(e.name))
        .map((e) => ({ name: e.name.replace(location.origin, ''), bytes: e.transferSize })),
    );
    const jsBytes = scripts.reduce((a, s) => a + s.bytes, 0);
    console.log(`JavaScript transferred by the public map: ${(jsBytes / 1024).toFixed(1)} KB (${scripts.map((s) => s.name).join(', ')})`);
    assert.ok(scripts.length > 0 && jsBytes > 0, 'the scripts were transferred');
    assert.ok(jsBytes <= 450 * 1024, `${(jsBytes / 1024).toFixed(1)} KB of JavaScript`);
    assert.ok(!scripts.some((s) => /\/(office|setup|inspect|routes|chief)-/.test(s.name)), 'no console is loaded for the public map');
    // The first idle map is drawn, not only loaded: the map waits to draw until its first data is
    // there (`holdFirstDraw`). Undrawn, the map's area is one colour under the legend and the
    // controls, ~50 KB of PNG; drawn, streets, zones and clusters make ~390 KB.
    const firstPng = await page.locator('#map canvas').screenshot();
    assert.ok(firstPng.length > 150_000, `the map is drawn at its first render (${firstPng.length} bytes of PNG)`);

    // The opening view (z15) shows the street with clusters over it, not hundreds of dots: every
    // loaded problem is in a cluster or drawn alone, once.
    const openingClusters = await renderedFeatures(page, CLUSTER_LAYERS);
    assert.ok(openingClusters.length > 0, 'problems are clustered at the demo view (z15)');
    const openingDots = await renderedFeatures(page, POINT_LAYERS);
    assert.ok(openingClusters.length + openingDots.length < 150, `the street stays readable: ${openingClusters.length} clusters, ${openingDots.length} dots`);
    await screenshot(page, 'public-opening-desktop');
    // One zoom level in, problems are drawn one by one.
    await page.evaluate(() => window.__civmap.map.jumpTo({ zoom: 16 }));
    await waitForMap(page);
    const points = await renderedFeatures(page, POINT_LAYERS);
    assert.ok(points.length > 0, 'problem points are rendered from z16');
    for (const p of points) {
      assert.match(p.id, /^[0-9a-f-]{36}$/, 'a rendered point carries its problem id');
      assert.equal(typeof p.properties.category, 'string');
      assert.equal(typeof p.properties.status, 'string');
    }
    // The points drawn are problems the API returns for the visible area.
    // The box of the drawn points with ~50 m of margin (a point just outside the view's edge is
    // still partly drawn, and drawn positions are the source tile's, not the exact ones).
    const xs = points.map((p) => p.geometry[0]);
    const ys = points.map((p) => p.geometry[1]);
    const bounds = [Math.min(...xs) - 5e-4, Math.min(...ys) - 5e-4, Math.max(...xs) + 5e-4, Math.max(...ys) + 5e-4].join(',');
    const api = await getJson(server.base, `/api/v1/problems?bbox=${bounds}&limit=1000`);
    const apiIds = new Set(api.features.map((f) => f.id));
    const drawn = new Set(points.map((p) => p.id));
    for (const id of drawn) assert.ok(apiIds.has(id), `rendered point ${id} is a problem of the visible area`);
    // Points drawn on top of each other count once, so the rendered set may be smaller, never empty.
    assert.ok(drawn.size >= Math.min(api.features.length, 1));

    const zones = await getJson(server.base, '/api/v1/zones?kind=surroundings&limit=1000');
    if (zones.features.length > 0) {
      const zoneFeatures = await renderedFeatures(page, ['zones-fill']);
      assert.ok(zoneFeatures.length > 0, 'three-surroundings zones are drawn');
    }

    // The legend lists the categories on the map; the attribution is visible.
    const legendCats = await page.locator('.legend-cats li').count();
    assert.ok(legendCats > 0, 'the legend lists categories');
    // Every category is in view in the legend on a desktop screen (none hidden below a fold
    // without a scrollbar), and the legend says what the dashed rings are.
    const hidden = await page.locator('.legend-cats').evaluate((ul) => {
      const box = ul.getBoundingClientRect();
      return [...ul.querySelectorAll('li')].filter((li) => li.getBoundingClientRect().bottom > box.bottom + 1).map((li) => li.textContent);
    });
    assert.deepEqual(hidden, [], 'no category is cut off in the legend');
    assert.equal((await page.locator('.legend-zones').innerText()).trim(), '虚线圈：三个周边（蓝 学校，绿 公园，橙 菜场）');
    await assert.doesNotReject(page.getByText('OpenStreetMap').first().waitFor({ state: 'visible', timeout: 5000 }));
    // The view is in the URL.
    assert.match(await page.evaluate(() => location.hash), /map=16(\.00)?\/31\.28\d*\/121\.49\d*/);
    // The ranking of school surroundings: sorted, and the top count is the server's count of
    // problems reported in that zone since the 1st of the month (the browser's time zone).
    if (zones.features.some((z) => z.properties.poi_kind === 'school')) {
      await page.locator('.ranking-list .rank-row').first().waitFor();
      const rows = await page.locator('.ranking-list .rank-row').evaluateAll((els) => els.map((e) => ({ zone: e.dataset.zone, count: Number(e.dataset.count) })));
      assert.deepEqual(rows.map((r) => r.count), [...rows.map((r) => r.count)].sort((a, b) => b - a), 'the ranking is sorted');
      const from = await page.evaluate(() => {
        const now = new Date();
        return new Date(now.getFullYear(), now.getMonth(), 1).toISOString();
      });
      const top = await getJson(server.base, `/api/v1/zones/${rows[0].zone}/problems?limit=1&from=${encodeURIComponent(from)}`);
      assert.equal(rows[0].count, top.numberMatched, 'the top zone\'s count is the server\'s');
    }
    await screenshot(page, 'public-desktop');
    assertClean(problems);
    await context.close();
  });

  test('zoomed out, problems are clustered and every loaded problem is counted once', async () => {
    const { page, context, problems } = await openPage(browser, server.base);
    await page.goto(`${server.base}/#map=13/31.2852/121.4974`);
    await waitForMap(page);
    const loaded = await page.evaluate(() => window.__civmap.app.problems.state.count);
    const clusters = await renderedFeatures(page, CLUSTER_LAYERS);
    assert.ok(clusters.length > 0, 'clusters are drawn at z13');
    const labels = await renderedFeatures(page, ['problem-cluster-count']);
    assert.ok(labels.length > 0, 'cluster counts are drawn as text with local fonts (no glyph server)');
    const points = await renderedFeatures(page, POINT_LAYERS);
    const byCluster = new Map(clusters.map((c) => [c.properties.cluster_id, c.properties.point_count]));
    const total = [...byCluster.values()].reduce((a, b) => a + b, 0) + new Set(points.map((p) => p.id)).size;
    assert.equal(total, loaded, 'clusters and single points add up to the problems loaded for the view');
    await screenshot(page, 'public-clusters-desktop');
    assertClean(problems);
    await context.close();
  });

  test('zoomed far out, the view asks only for the area the public may see and says so', async () => {
    const { page, context, problems } = await openPage(browser, server.base);
    await page.goto(`${server.base}/#map=10/31.2852/121.4974`);
    await waitForMap(page);
    const state = await page.evaluate(() => window.__civmap.app.problems.state);
    assert.equal(state.clamped, true, 'the request was limited to the anonymous bbox area');
    assert.equal(state.error, null);
    assert.match(await page.locator('.status-line').innerText(), /范围过大/);
    assert.ok((await renderedFeatures(page, [...CLUSTER_LAYERS, ...POINT_LAYERS])).length > 0, 'the demo area is still drawn');
    assertClean(problems);
    await context.close();
  });

  test('heat layer renders when toggled (rendered features and pixels)', async () => {
    const { page, context, problems } = await openPage(browser, server.base);
    await page.goto(`${server.base}/`);
    await waitForMap(page);
    assert.equal((await renderedFeatures(page, ['problems-heat', 'heat-cells'])).length, 0, 'heat is off by default');
    const { w, h } = await grabPixels(page, 'off');
    await page.locator('input[name=heat]').check();
    await page.waitForFunction(() => window.__civmap.app.problems.heat === true);
    await waitIdle(page);
    const heat = await renderedFeatures(page, ['problems-heat', 'heat-cells']);
    assert.ok(heat.length > 0, 'the heat layer has rendered features');
    await grabPixels(page, 'on');
    const changed = await pixelDifference(page, 'off', 'on');
    console.log(`heat layer changed ${(100 * changed).toFixed(1)}% of ${w}x${h} pixels`);
    assert.ok(changed > 0.01, `the heat layer visibly changes the map (${(100 * changed).toFixed(2)}% of pixels)`);
    assert.match(await page.evaluate(() => location.hash), /heat=1/);
    // The legend gives the heat its scale and says what it measures.
    await page.locator('.legend-heat .heat-scale').waitFor();
    assert.match((await page.locator('.legend-heat').innerText()).trim(), /^热力：问题密度（按严重程度和时长加权），浅→深 为 少→多/);
    await screenshot(page, 'public-heat-desktop');
    assertClean(problems);
    await context.close();
  });

  test('a shared URL restores view and filters; a popup shows category, status and dates', async () => {
    const cats = await getJson(server.base, '/api/v1/categories');
    // The most frequent category of the demo view, so the filter leaves something to see.
    const view = await getJson(server.base, '/api/v1/problems?bbox=121.485,31.277,121.509,31.293&limit=1000');
    const counts = new Map();
    for (const f of view.features) counts.set(f.properties.category, (counts.get(f.properties.category) ?? 0) + 1);
    const [top] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    const cat = cats.find((c) => c.code === top);

    const { page, context, problems } = await openPage(browser, server.base);
    await page.goto(`${server.base}/#map=16/31.2850/121.4970&cat=${top}&lang=en`);
    await waitForMap(page);
    const points = await renderedFeatures(page, POINT_LAYERS);
    assert.ok(points.length > 0, `points of ${top} are drawn`);
    for (const p of points) assert.equal(p.properties.category, top, 'only the filtered category is drawn');
    assert.equal(await page.evaluate(() => window.__civmap.map.getZoom()), 16, 'zoom from the URL');
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');

    // Click the point nearest the centre.
    const centre = await page.evaluate(() => window.__civmap.map.getCenter().toArray());
    const target = points
      .filter((p) => p.geometry)
      .sort((a, b) => Math.hypot(a.geometry[0] - centre[0], a.geometry[1] - centre[1]) - Math.hypot(b.geometry[0] - centre[0], b.geometry[1] - centre[1]))[0];
    const xy = await toPage(page, target.geometry);
    await page.mouse.click(xy.x, xy.y);
    const popup = page.locator('.maplibregl-popup .problem-card');
    await popup.waitFor({ state: 'visible' });
    const text = await popup.innerText();
    assert.ok(text.includes(cat.en), `the popup names the category (${cat.en}): ${text}`);
    assert.match(text, /Reported/);
    await screenshot(page, 'public-popup-en-desktop');
    assertClean(problems);
    await context.close();
  });

  test('phone layout: the map above a bottom sheet with the filters', async () => {
    const { page, context, problems } = await openPage(browser, server.base, { viewport: PHONE });
    await page.goto(`${server.base}/`);
    await waitForMap(page);
    const mapBox = await page.locator('#map').boundingBox();
    const sheet = await page.locator('aside.side').boundingBox();
    assert.ok(mapBox.width === PHONE.width, 'the map spans the phone screen');
    assert.ok(sheet.y >= mapBox.y + mapBox.height - 1, 'the panel sits below the map');
    assert.ok((await renderedFeatures(page, [...POINT_LAYERS, ...CLUSTER_LAYERS])).length > 0);
    await screenshot(page, 'public-phone');
    // The language switch: English interface, remembered in the URL and in localStorage.
    await page.locator('button.lang').click();
    await page.locator('nav a[data-route=map]', { hasText: 'Public map' }).waitFor();
    assert.match(await page.evaluate(() => location.hash), /lang=en/);
    assert.equal(await page.evaluate(() => localStorage.getItem('civmap.lang')), 'en');
    assert.match(await page.locator('.status-line').innerText(), /problems on the map/);
    await screenshot(page, 'public-en-phone');
    assertClean(problems);
    await context.close();
  });

  test('the ranking says what ▲ means, and an empty tab says why and what to do', async () => {
    const { page, context, problems } = await openPage(browser, server.base);
    await page.goto(`${server.base}/`);
    await waitForMap(page);
    await page.locator('.ranking-list li').first().waitFor();
    assert.equal((await page.locator('.rank-change-note').innerText()).trim(), '▲/▼：与上一个同样长的时段相比，问题数的增减；＝：持平。');
    // The demo's OpenStreetMap has no wet market mapped: the tab explains, in Chinese, and
    // points to the set-up console where one is added.
    await page.locator('.ranking .tab[data-kind=market]').click();
    const empty = page.locator('.ranking-empty');
    await empty.waitFor();
    const text = (await empty.innerText()).trim();
    assert.equal(text, '还没有菜场周边区域：地图数据（OpenStreetMap）里没有标注菜场。街道办可在“街道设置”里添加菜场，它的周边区域会自动生成。');
    await screenshot(page, 'public-market-empty');
    assertClean(problems);
    await context.close();
  });
});

describe('reporter', () => {
  test('a server error is shown next to the field it names', async () => {
    const { page, context, problems } = await openPage(browser, server.base, { viewport: PHONE });
    await page.goto(`${server.base}/#/report`);
    await waitForMap(page);
    // Nothing chosen: the form says what is missing, without a request.
    await page.locator('button[name=submit]').click();
    await assert.doesNotReject(page.locator('[data-error-for=location]:not(:empty)').waitFor());
    await assert.doesNotReject(page.locator('[data-error-for=category]:not(:empty)').waitFor());
    // A category the server does not know (an old cached page, say): its 422 names `category`.
    const box = await page.locator('#map').boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.evaluate(() => {
      const sel = document.querySelector('select[name=category]');
      sel.append(new Option('gone', 'no_such_category'));
      sel.value = 'no_such_category';
      sel.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await page.locator('button[name=submit]').click();
    const err = page.locator('[data-error-for=category]');
    // In Chinese, in Chinese words: the server's English message never reaches the screen.
    await page.waitForFunction(() => document.querySelector('[data-error-for=category]').textContent === '请选择有效的问题类别');
    assert.ok(problems.httpErrors.some((r) => r.startsWith('422 POST')), 'the server answered 422 (the form did not stop it)');
    assert.doesNotMatch(await err.innerText(), /[A-Za-z]{2,}/, 'no English API text in the Chinese page');
    console.log(`server error shown: ${await err.innerText()}`);
    await screenshot(page, 'report-error-phone');
    assertClean(problems, { allowHttp: ['/api/v1/problems', 'status of 422'] });
    await context.close();
  });

  test('a reporter submits a problem with a photo and it appears on the map', async () => {
    const { page, context, problems } = await openPage(browser, server.base, {
      viewport: PHONE,
      geolocation: { longitude: 121.4982, latitude: 31.2861, accuracy: 12 },
    });
    await page.goto(`${server.base}/#/report?map=17/31.2861/121.4982`);
    await waitForMap(page);
    await page.locator('button[name=locate]').click();
    await page.waitForFunction(() => /121\.4982/.test(document.querySelector('.loc-text').textContent));
    await page.locator('select[name=category]').selectOption('garbage');
    await page.locator('select[name=severity]').selectOption('high');
    await page.locator('input[name=photo]').setInputFiles({ name: 'pile.png', mimeType: 'image/png', buffer: makePng() });
    await page.locator('img.photo-preview:not([hidden])').waitFor();
    await page.locator('textarea[name=description]').fill('浏览器测试：绿化带旁堆放的垃圾袋');
    await screenshot(page, 'report-filled-phone');
    await page.locator('button[name=submit]').click();
    const done = page.locator('.success[data-created]');
    await done.waitFor();
    const id = await done.getAttribute('data-created');

    // The server has it, at the device position.
    const stored = await getJson(server.base, `/api/v1/problems/${id}`);
    assert.equal(stored.properties.category, 'garbage');
    assert.equal(stored.properties.severity, 'high');
    assert.equal(stored.properties.description, '浏览器测试：绿化带旁堆放的垃圾袋');
    assert.ok(Math.abs(stored.geometry.coordinates[0] - 121.4982) < 1e-6 && Math.abs(stored.geometry.coordinates[1] - 31.2861) < 1e-6);

    // It is drawn on the map.
    await waitIdle(page);
    const drawn = await renderedFeatures(page, POINT_LAYERS);
    assert.ok(drawn.some((f) => f.id === id), 'the new problem is a rendered point');
    await screenshot(page, 'report-done-phone');
    assertClean(problems);
    await context.close();
  });

  test('a signed-in grid worker finds the report under my reports, with its status', async () => {
    const { page, context, problems } = await openPage(browser, server.base, { viewport: PHONE });
    // Grid workers sign in on the report page itself; the session then goes with their reports.
    await page.goto(`${server.base}/#/report?map=18/31.2861/121.4982`);
    await waitForMap(page);
    await page.locator('.report-signin > summary').click();
    await page.locator('input[name=login-name]').fill('demo-reporter');
    await page.locator('input[name=login-password]').fill('civmap-demo');
    await page.locator('.login-form button[type=submit]').click();
    await page.locator('.signed-in[data-user=demo-reporter]').waitFor();
    const box = await page.locator('.maplibregl-canvas').boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator('select[name=category]').selectOption('illegal_parking');
    await page.locator('textarea[name=description]').fill('浏览器测试：网格员上报');
    await page.locator('button[name=submit]').click();
    const done = page.locator('.success[data-created]');
    await done.waitFor();
    const id = await done.getAttribute('data-created');
    await page.locator(`.my-reports [data-problem="${id}"]`).waitFor();
    const stored = await getJson(server.base, `/api/v1/problems/${id}/history`, OFFICE.token);
    assert.ok(stored.events[0].actor, 'the report is recorded as the grid worker\'s');
    await screenshot(page, 'report-mine-phone');
    assertClean(problems);
    await context.close();
  });
});

/** Signs in through the view's visible form with a demo account (the demo's password). */
async function signIn(page, name, password = DEMO_PASSWORD) {
  await page.locator('input[name=login-name]').fill(name);
  await page.locator('input[name=login-password]').fill(password);
  await page.locator('.login-form button[type=submit]').click();
  await page.locator(`.signed-in[data-user="${name}"]`).waitFor();
}

describe('staff', () => {
  test('the street office signs in with a password: a live inbox and the weekly assessment', async () => {
    const { page, context, problems } = await openPage(browser, server.base);
    await page.goto(`${server.base}/#/office`);
    await page.waitForFunction(() => window.__civmap?.app);
    await page.locator('input[name=login-name]').fill('demo-office');
    await page.locator('input[name=login-password]').fill('civmap-demo');
    await page.locator('.login-form button[type=submit]').click();
    await page.locator('.signed-in[data-user=demo-office]').waitFor();
    // The inbox follows the server's event stream (a browser session can).
    await page.locator('.inbox h3').waitFor();
    await page.locator('.inbox .live-dot.on').waitFor();
    // Tasks say how long is left, or how long they are overdue, in words.
    await page.locator('.inbox .time-left').first().waitFor({ state: 'attached' });
    const lefts = await page.locator('.inbox .time-left').evaluateAll((els) => els.map((e) => ({ text: e.textContent, late: e.classList.contains('late') })));
    for (const l of lefts) {
      assert.match(l.text, /^(还剩|已超期) \d+ (分钟|小时|天)$/);
      assert.equal(l.text.startsWith('已超期'), l.late, `${l.text}: overdue rows say so`);
    }
    const count = async () => Number(((await page.locator('[data-count=to_verify]').textContent().catch(() => null)) ?? '0').replace(/\D+/g, '') || 0);
    const before = await count();
    // The chief rectifies a problem through the API; the office's page hears of it without a reload.
    const open = await getJson(server.base, '/api/v1/problems?status=dispatched&limit=1000', CHIEF.token);
    const target = open.features.find((f) => f.properties.assignee === CHIEF.user) ?? open.features[0];
    assert.ok(target, 'the chief has a dispatched problem');
    const photo = await fetch(`${server.base}/api/v1/photos`, {
      method: 'POST',
      headers: { 'Content-Type': 'image/png', Authorization: `Bearer ${CHIEF.token}` },
      body: makePng(),
    }).then((r) => r.json());
    const done = await fetch(`${server.base}/api/v1/problems/${target.id}/rectify`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${CHIEF.token}` },
      body: JSON.stringify({ version: target.properties.version, note: '已整改（实时推送测试）', photos: [photo.id] }),
    });
    assert.equal(done.status, 200, await done.text());
    await page.waitForFunction((n) => {
      const e = document.querySelector('[data-count=to_verify]');
      return e && Number(e.textContent.replace(/\D+/g, '')) === n + 1;
    }, before);
    // The assessment: one row for the street, then one per zone; a CSV for Excel.
    await page.locator('.assessment-table tbody tr').first().waitFor();
    await page.locator('select[name=assessment-period]').selectOption('this');
    await page.locator('select[name=assessment-by]').selectOption('zone');
    await page.waitForFunction(() => document.querySelectorAll('.assessment-table tbody tr').length > 1);
    const rows = await page.locator('.assessment-table tbody tr').count();
    // The week reads Monday – Sunday in China Standard Time, as the printed report gives it.
    const days = (await page.locator('.assessment .period-days').innerText()).trim();
    const m = /^(\d{4})\/(\d{2})\/(\d{2}) – (\d{4})\/(\d{2})\/(\d{2})$/.exec(days);
    assert.ok(m, `the period as two days: ${days}`);
    const first = Date.UTC(+m[1], +m[2] - 1, +m[3]);
    const last = Date.UTC(+m[4], +m[5] - 1, +m[6]);
    assert.equal(new Date(first).getUTCDay(), 1, `${days} starts on a Monday`);
    assert.equal((last - first) / 86_400_000, 6, `${days} ends on the Sunday`);
    // The heat rankings of the three surroundings sit beside it.
    await page.locator('.assess-slot .ranking-list .rank-row').first().waitFor({ state: 'attached' });
    console.log(`assessment this week by zone: ${rows} rows`);
    await screenshot(page, 'office-inbox-assessment-desktop');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('button[name=assessment-csv]').click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    assert.ok(csv.startsWith('\ufeffgroup,key,period,from,to,reported'), csv.slice(0, 80));
    // The file holds sections separated by an empty line: the assessment first, then (for the
    // street office) its patrols of the week, one line per point and road zone.
    const [figures, ...rest] = csv.trim().split(/\r?\n\r?\n/);
    assert.equal(figures.split(/\r?\n/).length, 1 + 2 * rows, 'two lines (this and the previous period) per row');
    const patrolSection = rest.find((s) => s.startsWith('patrol_zone,'));
    assert.ok(patrolSection, `the street office's file carries the week's patrols: ${rest.map((s) => s.slice(0, 40)).join(' | ')}`);
    const patrolled = (await getJson(server.base, '/api/v1/zones?kind=point,road&limit=1000', OFFICE.token)).features.length;
    assert.equal(patrolSection.split(/\r?\n/).length, 1 + patrolled, 'one patrol line per point and road zone');
    assertClean(problems);
    await context.close();
  });

  // The problem the chief rectifies and the street office then verifies.
  let rectifiedId = null;
  let chiefZone = null;

  test('a chief signs in, sees only its zone\'s problems, rectifies one with a photo', async () => {
    assert.ok(CHIEF.user, 'the demo assigns a chief to a zone (GET /api/v1/assignments is not empty)');
    const assignments = await getJson(server.base, '/api/v1/assignments', OFFICE.token);
    const mine = assignments.filter((a) => a.user === CHIEF.user).map((a) => a.zone);
    assert.ok(mine.length > 0, `the demo assigns the test chief ${CHIEF.user} to a zone`);
    // The chief's zone with the most open problems that can be rectified.
    let best = null;
    for (const zone of mine) {
      const open = await getJson(server.base, `/api/v1/zones/${zone}/problems?status=open&limit=1000`, CHIEF.token);
      const fixable = open.features.filter((f) => ['dispatched', 'escalated'].includes(f.properties.status));
      if (fixable.length > 0 && (!best || open.features.length > best.open.length)) best = { zone, open: open.features, fixable };
    }
    assert.ok(best, 'a zone of the chief has a dispatched problem');
    chiefZone = best.zone;
    const expected = new Set(best.open.map((f) => f.id));

    const { page, context, problems } = await openPage(browser, server.base);
    await page.goto(`${server.base}/#/chief`);
    await page.waitForFunction(() => window.__civmap?.app);
    // The chief signs in with its account (the demo's password), not a token.
    const account = assignments.find((a) => a.user === CHIEF.user);
    assert.ok(account?.name, 'assignments name the chief');
    await page.locator('input[name=login-name]').fill(account.name);
    await page.locator('input[name=login-password]').fill('civmap-demo');
    await page.locator('.login-form button[type=submit]').click();
    await page.locator(`.signed-in[data-user="${account.name}"]`).waitFor();
    // The inbox is live (the session's event stream is open).
    await page.locator('.inbox .live-dot.on').waitFor();
    await page.locator(`select[name=zone] option[value="${best.zone}"]`).waitFor({ state: 'attached' });
    await page.locator('select[name=zone]').selectOption(best.zone);
    await page.locator('.task-list').waitFor();
    const taskIds = await page.locator('.task-list .task').evaluateAll((els) => els.map((e) => e.dataset.problem));
    assert.deepEqual(new Set(taskIds), expected, 'the task list is exactly the open problems of the zone');
    // Work to do before work awaiting verification; within each, overdue first, then by deadline.
    const order = await page.locator('.task-list .task').evaluateAll((els) =>
      els.map((e) => ({ waiting: e.dataset.status === 'rectified', late: e.classList.contains('late'), id: e.dataset.problem })),
    );
    const deadline = new Map(best.open.map((f) => [f.id, f.properties.deadline ? Date.parse(f.properties.deadline) : Number.MAX_SAFE_INTEGER]));
    for (let i = 1; i < order.length; i++) {
      const [a, b] = [order[i - 1], order[i]];
      const key = (t) => [Number(t.waiting), Number(!t.late), deadline.get(t.id)];
      const [ka, kb] = [key(a), key(b)];
      const cmp = ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2];
      assert.ok(cmp <= 0, `task ${i} is in deadline order (${JSON.stringify(a)} before ${JSON.stringify(b)})`);
    }
    await page.waitForFunction(() => window.__civmap.app.problems.state.loading === false);
    await waitIdle(page);
    const drawn = await renderedFeatures(page, POINT_LAYERS);
    assert.ok(drawn.length > 0, 'the zone\'s problems are drawn');
    for (const f of drawn) assert.ok(expected.has(f.id), `only the zone's problems are on the map (${f.id})`);
    await screenshot(page, 'chief-tasks-desktop');

    const target = best.fixable[0];
    await page.locator(`.task[data-problem="${target.id}"]`).click();
    await page.locator('.detail button[data-action=rectify]').waitFor();
    await page.locator('.detail textarea[name=note]').fill('已清理完毕（浏览器测试）');
    await page.locator('.detail input[name=evidence]').setInputFiles({ name: 'after.png', mimeType: 'image/png', buffer: makePng() });
    await page.locator('.detail button[data-action=rectify]').click();
    await page.locator('.detail .badge.status-rectified').waitFor();
    await page.locator('.history .ev-rectified').waitFor();
    // The history says who did it, by name, in a Chinese sentence.
    assert.match((await page.locator('.history .ev-rectified .ev-kind').first().innerText()).trim(), /^[^：]+：整改完成，提交核查$/);
    const after = await getJson(server.base, `/api/v1/problems/${target.id}`, CHIEF.token);
    assert.equal(after.properties.status, 'rectified');
    const history = await getJson(server.base, `/api/v1/problems/${target.id}/history`, CHIEF.token);
    const ev = history.events.at(-1);
    assert.equal(ev.kind, 'rectified');
    assert.equal(ev.note, '已清理完毕（浏览器测试）');
    assert.equal(ev.actor, CHIEF.user, 'the chief is recorded as the one who rectified');
    rectifiedId = target.id;
    await screenshot(page, 'chief-rectified-desktop');
    assertClean(problems);
    await context.close();
  });

  test('the street office verifies it, dispatches a new report, plans routes for two teams and downloads the GPX', async () => {
    assert.ok(rectifiedId, 'the chief test rectified a problem');
    const { page, context, problems } = await openPage(browser, server.base);
    await page.goto(`${server.base}/#/office?status=rectified`);
    await page.waitForFunction(() => window.__civmap?.app);
    await signIn(page, 'demo-office');
    const row = page.locator(`.problems-table tr[data-problem="${rectifiedId}"]`);
    await row.waitFor();
    const statuses = await page.locator('.problems-table tbody .badge').allInnerTexts();
    assert.ok(statuses.length > 0 && statuses.every((s) => s === '已整改'), `the status filter applies: ${statuses.join(',')}`);
    await screenshot(page, 'office-table-desktop');
    await row.click();
    await page.locator('.detail button[data-action=verify]').waitFor();
    // The chief's after photo is in the history, as a thumbnail fetched with the staff session.
    await page.waitForFunction(() => {
      const img = document.querySelector('.history .ev-rectified .photo-strip img.thumb');
      return img && img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0;
    });
    await page.locator('.detail textarea[name=note]').fill('现场核查通过');
    await page.locator('.detail button[data-action=verify]').click();
    await page.locator('.detail .badge.status-closed').waitFor();
    const closed = await getJson(server.base, `/api/v1/problems/${rectifiedId}`, OFFICE.token);
    assert.equal(closed.properties.status, 'closed');
    await screenshot(page, 'office-verified-desktop');

    // On the public map the verified fix shows its after-photo (unless the category is indoor).
    const category = (await getJson(server.base, '/api/v1/categories')).find((c) => c.code === closed.properties.category);
    const publicHistory = await getJson(server.base, `/api/v1/problems/${rectifiedId}/history`);
    if (category.indoor) {
      assert.equal(publicHistory.public_photo, undefined, 'indoor problems show no photo');
    } else {
      assert.equal(publicHistory.public_photo, `/api/v1/problems/${rectifiedId}/photo`);
      const [lon, lat] = closed.geometry.coordinates;
      await page.goto(`${server.base}/#map=18/${lat}/${lon}`);
      await waitForMap(page);
      const feature = await getJson(server.base, `/api/v1/problems/${rectifiedId}`);
      await page.evaluate((f) => window.__civmap.app.problems.onSelect(f, f.geometry.coordinates), feature);
      await page.waitForFunction(() => {
        const img = document.querySelector('.maplibregl-popup .public-photo img');
        return img && img.complete && img.naturalWidth > 0;
      });
      await screenshot(page, 'public-fixed-photo-desktop');
    }

    // A fresh report inside the chief's zone is dispatched at once to the zone's chief.
    const zone = await getJson(server.base, `/api/v1/zones/${chiefZone}`, OFFICE.token);
    const ring = zone.geometry.type === 'Polygon' ? zone.geometry.coordinates[0] : zone.geometry.coordinates[0][0];
    const cx = ring.reduce((a, p) => a + p[0], 0) / ring.length;
    const cy = ring.reduce((a, p) => a + p[1], 0) / ring.length;
    const created = await fetch(`${server.base}/api/v1/problems`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${OFFICE.token}` },
      body: JSON.stringify({ lon: cx, lat: cy, category: 'ad_posters', description: '校门口电线杆上的小广告' }),
    }).then((r) => r.json());
    assert.equal(created.properties.status, 'dispatched', 'dispatched automatically');
    await page.goto(`${server.base}/#/office?sel=${created.id}`);
    await page.locator('.detail .badge.status-dispatched').waitFor();
    await page.locator('.history .ev-dispatched').waitFor();
    const dispatched = await getJson(server.base, `/api/v1/problems/${created.id}`, OFFICE.token);
    assert.equal(dispatched.properties.status, 'dispatched');
    // The default assignee is the chief of the most specific zone containing the problem.
    const containing = new Set((await getJson(server.base, `/api/v1/zones?at=${cx},${cy}&limit=1000`, OFFICE.token)).features.map((z) => z.id));
    const chiefs = (await getJson(server.base, '/api/v1/assignments', OFFICE.token)).filter((a) => containing.has(a.zone)).map((a) => a.user);
    assert.ok(chiefs.includes(dispatched.properties.assignee), 'dispatched to a chief of a zone containing the problem');
    assert.ok(dispatched.properties.deadline, 'with the category\'s deadline');

    // The route planner: the open zombie cars chosen by filter, two teams, a working day each.
    await page.goto(`${server.base}/#/routes?cat=zombie_car`);
    await page.locator('button[name=choose-filtered]').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-chosen]')?.getAttribute('data-chosen')) > 0);
    const chosen = Number(await page.locator('[data-chosen]').getAttribute('data-chosen'));
    await page.locator('input[name=teams]').fill('2');
    await page.locator('input[name=budget]').fill('480');
    await page.locator('button[name=plan]').click();
    await page.locator('.result p').waitFor();
    console.log(`route planner: ${chosen} problems chosen; ${await page.locator('.result p').first().innerText()}`);
    // The routes are drawn on the map: rendered route lines, not only the DOM.
    await page.waitForFunction(() => window.__civmap?.map?.getSource('routes') !== undefined);
    await waitIdle(page);
    const lines = await page.evaluate(() => window.__civmap.map.queryRenderedFeatures(undefined, { layers: ['routes-line'] }).length);
    assert.ok(lines > 0, 'route lines are rendered');
    await screenshot(page, 'routes-desktop');
    // The GPX download: one track per team that set out, waypoints for the stops.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('button[name=gpx]').click()]);
    const gpx = readFileSync(await download.path(), 'utf8');
    assert.match(gpx, /<gpx[\s>]/, 'a GPX document');
    assert.ok((gpx.match(/<trk>/g) ?? []).length >= 1, 'with at least one track');
    assert.ok((gpx.match(/<wpt /g) ?? []).length >= 2, 'with waypoints');

    // The console on a phone: the table scrolls sideways inside the bottom sheet.
    await page.setViewportSize(PHONE);
    await page.goto(`${server.base}/#/office?status=open`);
    await page.locator('.problems-table tbody tr').first().waitFor();
    await waitIdle(page);
    await screenshot(page, 'office-phone');
    assertClean(problems);
    await context.close();
  });
});

/** Waits for the error shown for `field` and answers its text. */
async function errorFor(page, field) {
  const el = page.locator(`[data-error-for="${field}"]:not(:empty)`);
  await el.waitFor();
  return (await el.innerText()).trim();
}

/** In Chinese mode no English words reach the screen (units and the datum's name, MB and WGS-84, aside). */
function assertChinese(text, what) {
  assert.doesNotMatch(text.replace(/\bMB\b|WGS-84/g, ''), /[A-Za-z]{2,}/, `${what} is all Chinese: ${text}`);
}

/** A valid JPEG of `bytes` bytes or more: a small picture drawn by the browser, padded with comment segments. */
async function bigJpeg(page, bytes) {
  const b64 = await page.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 640;
    c.height = 480;
    const g = c.getContext('2d');
    g.fillStyle = '#aaa';
    g.fillRect(0, 0, 640, 480);
    g.fillStyle = '#8c5a32';
    g.beginPath();
    g.ellipse(320, 300, 160, 90, 0, 0, 2 * Math.PI);
    g.fill();
    const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.9));
    const buf = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (const x of buf) s += String.fromCharCode(x);
    return btoa(s);
  });
  const jpeg = Buffer.from(b64, 'base64');
  const segments = [];
  const chunk = 65533;
  for (let n = 0; n < bytes; n += chunk) {
    const seg = Buffer.alloc(4 + chunk, 0x20);
    seg[0] = 0xff;
    seg[1] = 0xfe; // COM: a comment, which every decoder skips
    seg.writeUInt16BE(chunk + 2, 2);
    segments.push(seg);
  }
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}

describe('route sheet and GPX with a password session', () => {
  test('a street office signed in through the form downloads the GPX and opens the route sheet', async () => {
    const { page, context, problems } = await openPage(browser, server.base);
    // Signed in on the street office's console; the session (cookie and CSRF token) goes with it to the planner.
    await page.goto(`${server.base}/#/office`);
    await waitForMap(page);
    await signIn(page, 'demo-office');
    await page.goto(`${server.base}/#/routes?cat=zombie_car`);
    await page.locator('button[name=choose-filtered]').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-chosen]')?.getAttribute('data-chosen')) > 0);
    await page.locator('input[name=teams]').fill('2');
    await page.locator('input[name=budget]').fill('480');
    await page.locator('button[name=plan]').click();
    const visited = Number(await page.locator('[data-visited]').getAttribute('data-visited'));
    assert.ok(visited > 0, 'the plan visits problems');
    await screenshot(page, 'routes-session-desktop');

    // The GPX, parsed: one waypoint per stop (and the start), one track per team that set out.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('button[name=gpx]').click()]);
    assert.equal(download.suggestedFilename(), 'civmap-routes.gpx');
    const gpx = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'application/xml');
      if (doc.querySelector('parsererror')) return { error: doc.querySelector('parsererror').textContent };
      const wpts = [...doc.getElementsByTagName('wpt')].map((w) => ({
        lat: Number(w.getAttribute('lat')),
        lon: Number(w.getAttribute('lon')),
        name: w.getElementsByTagName('name')[0]?.textContent ?? '',
        desc: w.getElementsByTagName('desc')[0]?.textContent ?? '',
      }));
      return { root: doc.documentElement.localName, tracks: doc.getElementsByTagName('trk').length, wpts };
    }, readFileSync(await download.path(), 'utf8'));
    assert.equal(gpx.error, undefined, 'the GPX is well-formed XML');
    assert.equal(gpx.root, 'gpx');
    const stops = gpx.wpts.filter((w) => w.name !== 'start');
    assert.equal(stops.length, visited, 'a waypoint per stop of the plan');
    const teams = await page.locator('.route-list li').count();
    assert.ok(gpx.tracks >= 1 && gpx.tracks <= teams, `a track per team that set out (${gpx.tracks} of ${teams})`);
    const stopIds = stops.map((w) => /id ([0-9a-f-]{36})/.exec(w.desc)?.[1]);
    for (const [i, id] of stopIds.entries()) {
      assert.ok(id, `waypoint ${stops[i].name} names its problem`);
      const p = await getJson(server.base, `/api/v1/problems/${id}`, OFFICE.token);
      assert.equal(p.properties.category, 'zombie_car', 'the stops are the chosen zombie cars');
      assert.ok(Math.abs(p.geometry.coordinates[0] - stops[i].lon) < 1e-6 && Math.abs(p.geometry.coordinates[1] - stops[i].lat) < 1e-6, 'at the problem\'s position');
    }

    // The printable sheet opens in a new tab and lists the same stops, team by team, by case
    // number and place (not ids or coordinates), with the category and severity in Chinese.
    const [sheet] = await Promise.all([context.waitForEvent('page'), page.locator('button[name=sheet]').click()]);
    await sheet.waitForLoadState();
    await sheet.locator('table.stops').first().scrollIntoViewIfNeeded();
    assert.match(await sheet.title(), /整改路线单/);
    const rows = await sheet.locator('tr.stop').evaluateAll((trs) =>
      trs.map((tr) => Object.fromEntries([...tr.cells].map((c) => [c.className, c.textContent.trim()]))),
    );
    assert.equal(rows.length, visited, 'a row per stop');
    const cases = [];
    const places = [];
    for (const id of stopIds) {
      const p = await getJson(server.base, `/api/v1/problems/${id}`, OFFICE.token);
      cases.push(p.properties.case_no);
      places.push(p.properties.place);
    }
    assert.deepEqual(
      rows.map((r) => r.case),
      cases,
      'the sheet lists the stops of the GPX by case number, in the same order',
    );
    for (const [i, r] of rows.entries()) {
      assert.match(r.case, /^CM\d{6}-\d{4}$/);
      assert.ok(r.place.length > 0 && (!places[i] || r.place.startsWith(places[i])), `stop ${i + 1} at its place: ${r.place}`);
      assert.ok(r.category.startsWith('僵尸车'), 'each row names the category');
      assert.match(r.severity, /^(轻微|一般|较重|严重)$/);
      assert.match(r.time, /^\d{2}:\d{2}$/, 'a planned clock time');
    }
    assert.equal(await sheet.locator('section.page.team').count(), teams, 'one page per team');
    assert.equal(await sheet.locator('td.qr svg').count(), visited, 'a QR code per stop');
    assert.ok((await sheet.locator('#street-names text').count()) > 0, 'street names on the map');
    await screenshot(sheet, 'routes-sheet-desktop');
    // As printed: A4, one team per page.
    await sheet.emulateMedia({ media: 'print' });
    await sheet.setViewportSize({ width: 794, height: 1123 });
    await sheet.screenshot({ path: join(ARTIFACTS, 'routes-sheet-print.png'), fullPage: true });
    writeFileSync(join(ARTIFACTS, 'routes-sheet.pdf'), await sheet.pdf({ format: 'A4', printBackground: true }));

    // Too little time for the must-visit stops: the planner's 422, in Chinese, with how many.
    await page.bringToFront();
    await page.locator('input[name=teams]').fill('1');
    await page.locator('input[name=budget]').fill('15');
    await page.locator('button[name=plan]').click();
    const infeasible = await errorFor(page, 'routes');
    // ... and what would fit: about how many teams, or how many minutes per team.
    // (here a stop alone takes longer than 15 minutes on foot, so more teams would not help).
    assert.match(infeasible, /^\d+ 个必到点（超期、三个周边、严重）在每队时限内走不完：(需要约 \d+ 个小组，或每组 \d+ 分钟|每组需要 \d+ 分钟（有的点位单独就超时，加小组无用）)；也可以少选问题$/);
    await waitIdle(page);
    const stale = await page.evaluate(() => window.__civmap.map.queryRenderedFeatures(undefined, { layers: ['routes-line'] }).length);
    assert.equal(stale, 0, 'the earlier plan is no longer drawn as if it were the answer');
    await screenshot(page, 'routes-infeasible-desktop');
    assertClean(problems, { allowHttp: ['/api/v1/routes', 'status of 422'] });
    await context.close();
  });
});

describe('errors in Chinese', () => {
  test('a wrong password and a locked account say so in Chinese', async () => {
    const { page, context, problems } = await openPage(browser, server.base, { viewport: PHONE });
    await page.goto(`${server.base}/#/chief`);
    await page.locator('input[name=login-name]').fill('demo-office');
    await page.locator('input[name=login-password]').fill('not-the-password');
    await page.locator('.login-form button[type=submit]').click();
    assert.equal(await errorFor(page, 'login'), '账号或密码错误');
    await screenshot(page, 'error-wrong-password-phone');
    // In English, the same table's English words.
    await page.locator('button.lang').click();
    await page.locator('input[name=login-name]').fill('demo-office');
    await page.locator('input[name=login-password]').fill('not-the-password');
    await page.locator('.login-form button[type=submit]').click();
    assert.equal(await errorFor(page, 'login'), 'Wrong name or password.');
    await page.locator('button.lang').click();
    await page.locator('.login-form h3', { hasText: '工作人员登录' }).waitFor();
    // Five failures in a row lock a name (unknown names too); the answer says for how long.
    for (let i = 0; i < 5; i++) {
      await fetch(`${server.base}/api/v1/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'browser-test-nobody', password: 'wrong' }),
      });
    }
    await page.locator('input[name=login-name]').fill('browser-test-nobody');
    await page.locator('input[name=login-password]').fill('not-the-password');
    await page.locator('.login-form button[type=submit]').click();
    await page.waitForFunction(() => /锁定/.test(document.querySelector('[data-error-for=login]').textContent));
    const text = (await page.locator('[data-error-for=login]').innerText()).trim();
    assert.equal(text, '账号已锁定，约 15 分钟后再试', 'the lock and its Retry-After (900 s), in minutes');
    const body = await page.locator('body').innerText();
    assert.ok(!/wrong name or password|too many failed/i.test(body), 'the server\'s English message is not on the screen');
    assertChinese(text, 'the lock message');
    await screenshot(page, 'error-locked-phone');
    assertClean(problems, { allowHttp: ['/api/v1/login', 'status of 401', 'status of 429'] });
    await context.close();
  });

  test('a rectification without a note, then without a photo, says what is missing in Chinese', async () => {
    assert.ok(CHIEF.user, 'the demo assigns a chief to a zone');
    const dispatched = await getJson(server.base, '/api/v1/problems?status=dispatched&limit=1000', CHIEF.token);
    const target = dispatched.features.find((f) => f.properties.assignee === CHIEF.user && f.properties.zone);
    assert.ok(target, 'the chief has a dispatched problem in a zone');
    const account = (await getJson(server.base, '/api/v1/assignments', OFFICE.token)).find((a) => a.user === CHIEF.user);
    const { page, context, problems } = await openPage(browser, server.base, { viewport: PHONE });
    await page.goto(`${server.base}/#/chief?zone=${target.properties.zone}`);
    await waitForMap(page);
    await signIn(page, account.name);
    await page.locator(`.task[data-problem="${target.id}"]`).click();
    await page.locator('.detail button[data-action=rectify]').click();
    assert.equal(await errorFor(page, 'note'), '请填写整改说明', 'said beside the note');
    await page.locator('.detail textarea[name=note]').fill('已清理（浏览器测试：缺照片）');
    await page.locator('.detail button[data-action=rectify]').click();
    assert.equal(await errorFor(page, 'photos'), '请上传整改后的照片', 'said beside the photo');
    assert.equal(await page.locator('[data-error-for=note]').innerText(), '', 'the note\'s error is gone');
    assert.doesNotMatch(await page.locator('body').innerText(), /needs a note|needs an after photo/, 'the server\'s English message is not on the screen');
    const still = await getJson(server.base, `/api/v1/problems/${target.id}`, CHIEF.token);
    assert.equal(still.properties.status, 'dispatched', 'nothing was recorded');
    await page.locator('[data-error-for=photos]').scrollIntoViewIfNeeded();
    await screenshot(page, 'error-rectify-photo-phone');
    assertClean(problems, { allowHttp: ['/rectify', 'status of 422'] });
    await context.close();
  });

  test('a photo over the server\'s limit is refused in Chinese beside the photo', async () => {
    const { page, context, problems } = await openPage(browser, server.base, { viewport: PHONE });
    await page.goto(`${server.base}/#/report?map=18/31.2861/121.4982`);
    await waitForMap(page);
    const box = await page.locator('.maplibregl-canvas').boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator('select[name=category]').selectOption('garbage');
    // A camera JPEG the phone keeps as it is (small enough in pixels), over `limits.photo_bytes` (10 MiB).
    const photo = await bigJpeg(page, 10 * 1024 * 1024 + 100_000);
    assert.ok(photo.length > 10 * 1024 * 1024);
    await page.locator('input[name=photo]').setInputFiles({ name: 'big.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.locator('img.photo-preview:not([hidden])').waitFor();
    await page.locator('button[name=submit]').click();
    const text = await errorFor(page, 'photos');
    assert.equal(text, '照片不能超过 10 MB');
    assert.equal(await page.locator('.success[data-created]').count(), 0, 'nothing was reported');
    assertChinese(await page.locator('.report-form').innerText(), 'the form');
    await screenshot(page, 'error-photo-too-large-phone');
    assertClean(problems, { allowHttp: ['/api/v1/photos', 'status of 413'] });
    await context.close();
  });
});

// Last: it stops the server.
describe('when the server is gone', () => {
  test('a report to a stopped server is kept on the phone and says so, in Chinese', async () => {
    const { page, context, problems } = await openPage(browser, server.base, { viewport: PHONE });
    await page.goto(`${server.base}/#/report?map=18/31.2861/121.4982`);
    await waitForMap(page);
    const box = await page.locator('.maplibregl-canvas').boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator('select[name=category]').selectOption('garbage');
    await page.locator('textarea[name=description]').fill('浏览器测试：服务器已停止');
    await server.stop(true);
    await page.locator('button[name=submit]').click();
    // No answer: the report waits in the outbox (issue 17) instead of being lost.
    await page.locator('.queued-line').waitFor();
    assert.equal((await page.locator('.queued-line').innerText()).trim(), '已保存在手机上，联网后自动发送。');
    assert.equal((await page.locator('.outbox-count').innerText()).trim(), '1 条待发送');
    assert.equal(await page.locator('[data-error-for="body"]:not(:empty)').count(), 0, 'no error: nothing is lost');
    assertChinese(await page.locator('.report-form').innerText(), 'the form');
    await screenshot(page, 'error-network-phone');
    assert.deepEqual(problems.pageErrors, [], 'no uncaught exception');
    assert.ok(problems.failedRequests.some((r) => r.startsWith('POST') && r.includes('/api/v1/problems')), 'the report really failed to reach the server');
    await context.close();
  });
});
