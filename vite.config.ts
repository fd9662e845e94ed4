import { createReadStream, cpSync, existsSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Connect, type Plugin } from 'vite';

// The app: `npm start` builds it and serves the bundle (`vite build` + `vite preview`), `npm run dev` is the dev
// server, which the Playwright e2e tests use too.
//
// models/   → /models/   in dev and preview, and copied into dist/models/ by `vite build`.
// fixtures/ → /fixtures/ in the dev server only (browser tests read expected tensors from it).

const root = fileURLToPath(new URL('.', import.meta.url));

// COOP/COEP make the page cross-origin isolated (SharedArrayBuffer, wasm threads).
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const contentTypes: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.safetensors': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.onnx': 'application/octet-stream',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.y4m': 'application/octet-stream',
};

/** Serves files under `dir` (GET/HEAD, single byte ranges); 404 for anything else, no directory listings. */
function serveFolder(dir: string): Connect.NextHandleFunction {
  const base = resolve(dir);
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    let rel: string;
    try {
      rel = decodeURIComponent((req.url ?? '/').split('?')[0]);
    } catch {
      res.statusCode = 400;
      res.end();
      return;
    }
    const file = resolve(join(base, rel));
    if (file !== base && !file.startsWith(base + sep)) {
      res.statusCode = 403;
      res.end();
      return;
    }
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`not found: ${req.originalUrl ?? req.url}`);
      return;
    }
    const size = statSync(file).size;
    for (const [k, v] of Object.entries(isolationHeaders)) res.setHeader(k, v);
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Content-Type', contentTypes[extname(file).toLowerCase()] ?? 'application/octet-stream');
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Cache-Control', 'no-cache');

    let start = 0;
    let end = size - 1;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && (range[1] !== '' || range[2] !== '')) {
      if (range[1] === '') {
        start = Math.max(0, size - Number(range[2])); // suffix range: last N bytes
      } else {
        start = Number(range[1]);
        if (range[2] !== '') end = Math.min(end, Number(range[2]));
      }
      if (start > end || start >= size) {
        res.statusCode = 416;
        res.setHeader('Content-Range', `bytes */${size}`);
        res.end();
        return;
      }
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    }
    res.setHeader('Content-Length', String(end - start + 1));
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    createReadStream(file, { start, end }).pipe(res);
  };
}

/** models/ at /models/ (dev, preview, build output); fixtures/ at /fixtures/ (dev only, for tests). */
function staticFolders(): Plugin {
  const models = join(root, 'models');
  const fixtures = join(root, 'fixtures');
  let outDir = join(root, 'dist');
  return {
    name: 'timesformer-static-folders',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use('/models', serveFolder(models));
      if (existsSync(fixtures)) server.middlewares.use('/fixtures', serveFolder(fixtures));
    },
    configurePreviewServer(server) {
      // Preview serves dist/, which holds the copy made at build time; serve the folder itself
      // first so a preview never shows stale models.
      server.middlewares.use('/models', serveFolder(models));
    },
    writeBundle() {
      if (existsSync(models)) cpSync(models, join(outDir, 'models'), { recursive: true });
    },
  };
}

export default defineConfig({
  plugins: [react(), staticFolders()],
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: false,
    headers: isolationHeaders,
    // Browser tests set this: a page must not reload mid-test because a file changed.
    hmr: process.env.VITE_NO_HMR ? false : undefined,
  },
  // What `npm start` serves, at the dev server's address (Playwright's own server keeps 4173, or E2E_PORT).
  preview: {
    host: '127.0.0.1',
    port: 5173,
    headers: isolationHeaders,
  },
  worker: {
    format: 'es',
  },
  // Scan the e2e harness pages for dependencies at startup too: a dependency found later (mediabunny, first
  // imported by e2e/harness/video-page.ts) makes Vite re-bundle and reload the page in the middle of a test.
  optimizeDeps: {
    entries: ['index.html', 'e2e/harness/*.html', 'src/cli/browser/harness.html', 'src/worker/inference.worker.ts'],
    // Imported dynamically, in the worker, only when the user picks that backend: bundled up front, so that a
    // switch mid-session does not make Vite re-bundle (and the worker's import of the old bundle fail).
    include: ['onnxruntime-web/wasm', 'onnxruntime-web/webgpu', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-cpu'],
  },
  build: {
    target: 'es2022',
  },
});
