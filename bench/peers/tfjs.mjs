/**
 * One TensorFlow.js instance on the WASM backend, shared by both peers (their `node-wasm` builds
 * `require('@tensorflow/tfjs')`, so they get this very instance), and a `fetch` that serves
 * `file://` URLs from disk so that model files load without a network.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const require = createRequire(import.meta.url);
export const tf = require('@tensorflow/tfjs');
const wasmBackend = require('@tensorflow/tfjs-backend-wasm');

/** Folder of the `.wasm` binaries, as a path with a trailing slash (what `setWasmPaths` wants). */
export const wasmDir =
  path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/';

const networkFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  const href = typeof url === 'string' ? url : (url.url ?? String(url));
  if (href.startsWith('file://')) return new globalThis.Response(fs.readFileSync(fileURLToPath(href)));
  // the benchmark must never reach the network: a model path mistake should fail loudly
  if (process.env.PEERS_ALLOW_NETWORK) return networkFetch(url, init);
  throw new Error(`bench/peers: refusing to fetch ${href} (models load from disk only)`);
};

let ready;
/** Sets up the WASM backend once; returns what the report says about it. */
export function initTfjs() {
  ready ??= (async () => {
    wasmBackend.setWasmPaths(wasmDir);
    await tf.setBackend('wasm');
    await tf.ready();
    return {
      tfjs: tf.version.tfjs,
      backend: tf.getBackend(),
      simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
      threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
    };
  })();
  return ready;
}

/** Total size in bytes of the given files. */
export function fileBytes(files) {
  return files.reduce((sum, file) => sum + fs.statSync(file).size, 0);
}

/** A decoded RGB image `{ data, width, height }` as an int32 tensor of shape [h, w, 3]. */
export function rgbTensor3d(image) {
  return tf.tensor3d(Int32Array.from(image.data), [image.height, image.width, 3], 'int32');
}
