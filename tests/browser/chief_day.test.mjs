// A chief's day on a phone, as a person does it, against the real server on the demo data: sign
// in, read the task rows (place, a line of the description, time left or overdue by, distance
// from me), fix a reported problem of its own zone on the spot (当场整改) with a photo that the
// phone shrinks before upload, and report-and-fix in one step from the report page. The error
// paths touched say what is wrong in Chinese only.
// Run: `node --test chief_day.test.mjs` (after `cargo build -p civmap` and `npm run build` in
// web/). Screenshots land in tests/artifacts/.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdirSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import { ARTIFACTS, PHONE, getJson, launchBrowser, openPage, screenshot, startServer, waitForMap } from './support.mjs';

/** The password of every `--demo` account (README, "Accounts"). */
const DEMO_PASSWORD = 'civmap-demo';
/** A static street-office token for the test's own API reads (the pages sign in with passwords). */
const OFFICE_TOKEN = process.env.CIVMAP_TEST_OFFICE_TOKEN ?? 'browser-test-office-0123456789';
/** A camera photo's size: 12 megapixels. */
const CAMERA = { w: 4000, h: 3000 };

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

function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

/**
 * A camera-sized photo as a PNG with texture (a seeded noise over a pavement grey), so it is as
 * heavy as a real one: several megabytes, more than a phone network should carry.
 */
function cameraPhoto({ w, h } = CAMERA) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  let s = 12345;
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const n = (s >>> 24) % 48;
      const i = y * (w * 3 + 1) + 1 + x * 3;
      raw[i] = 130 + n;
      raw[i + 1] = 125 + n;
      raw[i + 2] = 120 + n;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(raw, { level: 1 })), pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * No Latin words on screen in the Chinese page (case numbers `CM…` aside, and what people typed:
 * descriptions, `.task-excerpt`, are their words, not the interface's).
 */
async function assertNoEnglish(page, selector) {
  const text = await page.locator(selector).evaluate((el) => {
    const copy = el.cloneNode(true);
    for (const typed of copy.querySelectorAll('.task-excerpt, textarea')) typed.remove();
    return copy.innerText ?? copy.textContent;
  });
  const words = text.replace(/CM\d{6}-\d{4}|WGS-84/g, '').match(/[A-Za-z]{3,}/g) ?? [];
  assert.deepEqual(words, [], `English on screen in ${selector}: ${text}`);
}

/**
 * Sizes of the photos the page uploaded, as the server answered them (`bytes`, `width`,
 * `height` of what it stored; the browser does not report the size of a Blob body it sent).
 */
function watchUploads(page) {
  const sizes = [];
  page.on('response', async (r) => {
    if (r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/v1/photos' && r.ok()) {
      const p = await r.json();
      sizes.push(p.bytes);
      assert.ok(Math.max(p.width, p.height) <= 1600, `stored at most 1600 px: ${p.width}x${p.height}`);
    }
  });
  return sizes;
}

/** A chief of the demo with a reported (not yet dispatched) problem in its own zone. */
async function chiefWithReported() {
  const assignments = await getJson(server.base, '/api/v1/assignments', OFFICE_TOKEN);
  const chiefs = await getJson(server.base, '/api/v1/chiefs', OFFICE_TOKEN);
  for (const a of assignments) {
    const found = await getJson(server.base, `/api/v1/problems?zone=${a.zone}&status=reported,recurred&limit=1`, OFFICE_TOKEN);
    const chief = chiefs.find((c) => c.id === a.user);
    if (found.features.length && chief && chief.role !== 'area_chief') return { chief, zone: a.zone, problem: found.features[0] };
  }
  throw new Error('no chief of the demo has a reported problem in its zone');
}

describe('chief on a phone', () => {
  test('task rows, a self-fix with a shrunk photo, report-and-fix in one step', async () => {
    const { chief, zone, problem } = await chiefWithReported();
    const [lon, lat] = problem.geometry.coordinates;
    console.log(`chief ${chief.name} (${chief.role}), zone ${zone}, reported ${problem.id}`);
    const { page, context, problems } = await openPage(browser, server.base, { viewport: PHONE, geolocation: { longitude: lon + 0.001, latitude: lat, accuracy: 10 } });
    const uploads = watchUploads(page);
    await page.goto(`${server.base}/#/chief?zone=${zone}`);
    await page.locator('input[name=login-name]').fill(chief.name);
    await page.locator('input[name=login-password]').fill(DEMO_PASSWORD);
    await page.locator('.login-form button[type=submit]').click();
    await page.locator(`.signed-in[data-user="${chief.name}"]`).waitFor();

    // The rows: place, a line of the description, time left or overdue by, distance from me.
    await page.locator('.task-list .task').first().waitFor();
    const rows = await page.locator('.task-list .task').evaluateAll((els) =>
      els.map((e) => ({
        id: e.dataset.problem,
        place: e.querySelector('.task-place')?.textContent ?? '',
        excerpt: e.querySelector('.task-excerpt')?.textContent ?? null,
        left: e.querySelector('.time-left')?.textContent ?? null,
        distance: e.querySelector('.task-distance')?.textContent ?? null,
      })),
    );
    for (const r of rows) {
      assert.ok(r.place.trim().length > 0, `row ${r.id} names its place`);
      if (r.excerpt !== null) assert.ok([...r.excerpt].length <= 31, `a short excerpt: ${r.excerpt}`);
      if (r.left !== null) assert.match(r.left, /^(还剩|已超期) \d+ (分钟|小时|天)$/);
      assert.match(r.distance ?? '', /^距我 [\d.]+ (米|公里)$/, `row ${r.id} says how far it is`);
    }
    assert.ok(rows.some((r) => r.left !== null), 'rows with a deadline say the time left');
    assert.ok(rows.some((r) => r.excerpt), 'rows show a line of the description');
    const zoom = await page.evaluate(() => window.__civmap.map.getZoom());
    assert.ok(zoom >= 15, `the zone map is at a zoom with single points (${zoom})`);
    await assertNoEnglish(page, '.task-list');
    await screenshot(page, 'chief-1-tasks-phone');

    // Self-fix of the reported problem: the button says so, the note's hint says it is required.
    await page.locator(`.task[data-problem="${problem.id}"]`).click();
    await page.locator('.detail .self-fix-hint').waitFor();
    const fix = page.locator('button[data-action=rectify]');
    assert.equal((await fix.innerText()).trim(), '当场整改');
    assert.equal(await page.locator('textarea[name=note]').getAttribute('placeholder'), '请写明整改情况（必填）');
    // Without a note: said beside the note, in Chinese.
    await fix.click();
    const noteError = page.locator('[data-error-for=note]:not(:empty)');
    await noteError.waitFor();
    await assertNoEnglish(page, '.detail .actions');
    console.log(`missing note: ${await noteError.innerText()}`);
    await screenshot(page, 'chief-2-note-missing-phone');

    const photo = cameraPhoto();
    await page.locator('textarea[name=note]').fill('已当场清理，恢复整洁');
    await page.locator('input[name=evidence]').setInputFiles({ name: 'IMG_0001.png', mimeType: 'image/png', buffer: photo });
    await page.locator('.detail img.photo-preview:not([hidden])').waitFor({ timeout: 60_000 });
    await fix.click();
    await page.locator(`.detail[data-problem="${problem.id}"] .badge.status-rectified`).first().waitFor({ timeout: 60_000 });
    assert.equal((await page.locator(`.detail[data-problem="${problem.id}"] .badge.status-rectified`).first().innerText()).trim(), '已整改');
    assert.equal(uploads.length, 1, 'one photo uploaded');
    assert.ok(uploads[0] > 0 && uploads[0] < photo.length / 4, `the photo was shrunk before upload: ${uploads[0]} of ${photo.length} bytes`);
    console.log(`self-fix photo: ${photo.length} bytes picked, ${uploads[0]} bytes uploaded`);
    const history = await getJson(server.base, `/api/v1/problems/${problem.id}/history`, OFFICE_TOKEN);
    const step = history.events.at(-1);
    assert.equal(step.kind, 'rectified');
    assert.equal(step.data.self_fix, true);
    await page.locator('.history .ev-rectified').waitFor();
    assert.match(await page.locator('.history .ev-rectified .ev-kind').innerText(), /当场整改/);
    await screenshot(page, 'chief-3-self-fixed-phone');

    // Report and fix in one step, from the report page (the chief is still signed in).
    await page.goto(`${server.base}/#/report?map=18/${lat}/${lon}`);
    await waitForMap(page);
    await page.locator(`.signed-in[data-user="${chief.name}"]`).waitFor();
    const box = await page.locator('.maplibregl-canvas').boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator('select[name=category]').selectOption('garbage');
    await page.locator('textarea[name=description]').fill('巡查发现：垃圾袋散落');
    await page.locator('input[name=fixed-on-spot]').check();
    // The fix needs its note: said beside it, in Chinese, before anything is sent.
    await page.locator('button[name=submit]').click();
    await page.locator('[data-error-for=fixNote]:not(:empty)').waitFor();
    await assertNoEnglish(page, '.report-form');
    await page.locator('textarea[name=fix-note]').fill('已当场清理');
    await page.locator('input[name=photo]').setInputFiles({ name: 'IMG_0002.png', mimeType: 'image/png', buffer: photo });
    await page.locator('.report-form img.photo-preview:not([hidden])').waitFor({ timeout: 60_000 });
    await page.locator('button[name=submit]').click();
    const panel = page.locator('.sent-panel');
    await panel.waitFor();
    assert.match(await panel.innerText(), /已上报并当场整改，等待核查。/);
    const created = await panel.getAttribute('data-created');
    const stored = await getJson(server.base, `/api/v1/problems/${created}`, OFFICE_TOKEN);
    assert.equal(stored.properties.status, 'rectified');
    assert.equal(uploads.length, 2, 'the report-and-fix sent one photo');
    assert.ok(uploads[1] > 0 && uploads[1] < photo.length / 4, `shrunk again: ${uploads[1]} bytes`);
    await assertNoEnglish(page, '.sent-panel');
    await screenshot(page, 'chief-4-report-and-fix-phone');
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(problems.foreignRequests, []);
    // The one error answer the page met: the missing note, a 422.
    assert.deepEqual(
      problems.httpErrors.filter((r) => !r.startsWith('422 POST')),
      [],
    );
    await context.close();
  });
});
