// Fails when a stylesheet of src/ does not parse: an unclosed block (a merge that dropped a
// `}`) makes browsers drop every rule after it, while the build only minifies what it can.
// postcss is Vite's own CSS parser.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import postcss from 'postcss';

const src = new URL('../src/', import.meta.url).pathname;
let bad = 0;
for (const name of readdirSync(src, { recursive: true })) {
  if (!String(name).endsWith('.css')) continue;
  const file = join(src, String(name));
  try {
    postcss.parse(readFileSync(file, 'utf8'), { from: file });
  } catch (e) {
    bad += 1;
    console.error(`${file}: ${e.message}`);
  }
}
if (bad > 0) process.exit(1);
