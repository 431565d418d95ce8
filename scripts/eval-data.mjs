/**
 * The evaluation folders that scripts and benchmarks read, taken out of the archives in
 * ../shared/data (the layout its README describes) into .cache/eval-data/ (ignored by git), once:
 *   UTKFace/       from utkface/UTKFace.tar.gz            (the 200×200 aligned crops)
 *   FER2013Valid/  from fer2013/FERPlus-train-valid.tar.gz (PublicTest images + FER+ label.csv)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('..', import.meta.url).pathname;
export const DATA_DIR = join(ROOT, '..', 'shared', 'data');
const EVAL_DATA = join(ROOT, '.cache', 'eval-data');

const SOURCES = {
  UTKFace: { archive: ['utkface', 'UTKFace.tar.gz'], ready: (dir) => readdirSync(dir).length > 1000 },
  FER2013Valid: {
    archive: ['fer2013', 'FERPlus-train-valid.tar.gz'],
    ready: (dir) => existsSync(join(dir, 'label.csv')),
  },
};

/** The extracted folder `name` (UTKFace or FER2013Valid), extracting it first if needed. */
export function evalDataDir(name, dataDir = DATA_DIR) {
  const { archive, ready } = SOURCES[name];
  const dir = join(EVAL_DATA, name);
  if (existsSync(dir) && ready(dir)) return dir;
  const file = join(dataDir, ...archive);
  if (!existsSync(file)) {
    throw new Error(`${file} not found (the datasets folder described in ../shared/data/README.md)`);
  }
  mkdirSync(EVAL_DATA, { recursive: true });
  console.error(`extracting ${name} from ${file} into ${EVAL_DATA} (once)…`);
  execFileSync('tar', ['-xzf', file, '-C', EVAL_DATA, name]);
  return dir;
}
