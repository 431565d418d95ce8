/** Imports a module of the project's build (`dist/`), with a clear error when it is not built. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function fromDist(file) {
  const full = path.join(repoRoot, 'dist', file);
  if (!fs.existsSync(full)) throw new Error(`${full} not found: run 'npm run build' first`);
  return import(pathToFileURL(full).href);
}
