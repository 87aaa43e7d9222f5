// @ts-check
import { defineConfig } from 'vite';

// The server serves web/dist at `/`; `base: './'` keeps asset URLs relative so the same build
// also works behind a reverse proxy under a sub-path.
// `npm run dev` proxies the API to a running `civmap serve` (CIVMAP_URL, default port 8080).
const target = process.env.CIVMAP_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: './',
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
