// @ts-check
import { defineConfig } from 'vite';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * Writes `NAME.gz` beside every script and style sheet, compressed at level 9 once at build time:
 * the server sends it to browsers that accept gzip (instead of compressing on every request at
 * its fastest level, which shipped ~40% more bytes).
 * @type {import('vite').Plugin}
 */
const precompress = {
  name: 'civmap-precompress',
  apply: 'build',
  enforce: 'post',
  // From the files as written, after every other plugin's last word: in `generateBundle` a
  // chunk's code may still hold placeholders Vite fills in later (`__VITE_PRELOAD__`), and the
  // lazily loaded chunks (terra-draw) failed from the compressed copy.
  writeBundle(options, bundle) {
    const dir = options.dir ?? 'dist';
    for (const name of Object.keys(bundle)) {
      if (!/\.(js|css)$/.test(name)) continue;
      const file = join(dir, name);
      writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: 9 }));
    }
  },
};

// The server serves web/dist at `/`; `base: './'` keeps asset URLs relative so the same build
// also works behind a reverse proxy under a sub-path.
// `npm run dev` proxies the API to a running `civmap serve` (CIVMAP_URL, default port 8080).
const target = process.env.CIVMAP_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: './',
  plugins: [precompress],
  // Views are Preact components written in TSX; esbuild compiles the JSX (no plugin needed).
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      '/api': target,
      '/tiles': target,
      '/ogc': target,
    },
  },
});
