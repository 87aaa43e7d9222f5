// Prints the gzipped size of every JavaScript and CSS file of web/dist and fails the build when
// the JavaScript shipped exceeds the budget (450 KB gzipped, level 9 like a server would use: issue 15's limit).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_JS_GZ = 450 * 1024;
const dist = new URL('../dist/', import.meta.url).pathname;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

let jsRaw = 0;
let jsGz = 0;
const rows = [];
for (const file of walk(dist)) {
  if (!/\.(js|css)$/.test(file)) continue;
  const bytes = readFileSync(file);
  const gz = gzipSync(bytes, { level: 9 }).length;
  rows.push([relative(dist, file), bytes.length, gz]);
  if (file.endsWith('.js')) {
    jsRaw += bytes.length;
    jsGz += gz;
  }
}
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
for (const [name, raw, gz] of rows) console.log(`${name.padEnd(40)} ${kb(raw).padStart(10)} ${kb(gz).padStart(10)} gzip`);
console.log(`JavaScript total: ${kb(jsRaw)} raw, ${kb(jsGz)} gzipped (budget ${kb(BUDGET_JS_GZ)})`);
if (jsGz > BUDGET_JS_GZ) {
  console.error(`web bundle over budget: ${kb(jsGz)} > ${kb(BUDGET_JS_GZ)} gzipped`);
  process.exit(1);
}
