/**
 * Vite build of the browser demo: `npm run build:web` → web/dist, served by `facemtl serve` at `/`.
 * The models are not copied into the bundle: the page fetches them from `/models/…`, which both
 * `facemtl serve` and this dev server map to `models/` and the BlazeFace package (one table:
 * src/server/assets.ts), so a retrained model is picked up without rebuilding the page.
 */
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { defineConfig, type Connect, type Plugin } from 'vite';
import { assetMounts } from '../src/server/assets.js';

/** Cross-origin isolation: lets onnxruntime-web run multi-threaded (SharedArrayBuffer). */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** Serves the model files in `vite` dev/preview, like `facemtl serve` does. */
function modelFiles(): Plugin {
  const middleware: Connect.NextHandleFunction = (request, response, next) => {
    const url = decodeURIComponent((request.url ?? '').split('?')[0]);
    for (const mount of assetMounts()) {
      if (!url.startsWith(mount.prefix)) continue;
      const name = url.slice(mount.prefix.length);
      const file = path.join(mount.dir, name);
      if (!mount.files.test(name) || !existsSync(file)) break;
      response.setHeader(
        'Content-Type',
        name.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      );
      createReadStream(file).pipe(response);
      return;
    }
    next();
  };
  return {
    name: 'facemtl-model-files',
    configureServer: (server) => void server.middlewares.use(middleware),
    configurePreviewServer: (server) => void server.middlewares.use(middleware),
  };
}

export default defineConfig({
  root: path.dirname(new URL(import.meta.url).pathname),
  base: './',
  plugins: [modelFiles()],
  server: { headers: ISOLATION_HEADERS, host: '127.0.0.1' },
  preview: { headers: ISOLATION_HEADERS, host: '127.0.0.1' },
  // onnxruntime-web loads its wasm and worker glue relative to its own module: keep it out of
  // the dependency pre-bundler, which would move it.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
});
