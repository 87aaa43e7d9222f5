// @ts-check
import { defineConfig } from 'vite';
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
  generateBundle(_options, bundle) {
    for (const [name, out] of Object.entries(bundle)) {
      if (!/\.(js|css)$/.test(name)) continue;
      const source = out.type === 'chunk' ? out.code : out.source;
      this.emitFile({ type: 'asset', fileName: `${name}.gz`, source: gzipSync(source, { level: 9 }) });
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
