/**
 * CelebA in its official layout: `img_align_celeba/NNNNNN.jpg` (178×218 aligned crops),
 * `list_attr_celeba.txt` (a count line, the 40 attribute names, then `name` and 40 values of 1
 * or -1) and `list_eval_partition.txt` (`name P`, 0 train, 1 val, 2 test). Rows whose image is
 * missing are left out, so a subset of CelebA reads like the full set.
 */
import { readFile } from 'node:fs/promises';
import { IMAGE_EXTENSIONS, join, pathKind, readBytes } from './files.js';
import type { AttributeTask, DatasetReader, EvalSample, SkipCounter } from './types.js';

/** Each attribute task and the CelebA column it is read from (`beard` is `No_Beard` negated). */
export const CELEBA_COLUMNS: Record<AttributeTask, { column: string; negated?: boolean }> = {
  smile: { column: 'Smiling' },
  eyeglasses: { column: 'Eyeglasses' },
  makeup: { column: 'Heavy_Makeup' },
  lipstick: { column: 'Wearing_Lipstick' },
  beard: { column: 'No_Beard', negated: true },
  moustache: { column: 'Mustache' },
  sideburns: { column: 'Sideburns' },
};

export const CELEBA_USAGES = ['train', 'val', 'test', 'all'] as const;

export function celebaReader(path: string, usage = 'test'): DatasetReader {
  if (!(CELEBA_USAGES as readonly string[]).includes(usage)) {
    throw new Error(`celeba: --usage must be one of ${CELEBA_USAGES.join(', ')}, not "${usage}"`);
  }
  const tasks = ['gender', ...Object.keys(CELEBA_COLUMNS)] as DatasetReader['tasks'];
  return { tasks, geometry: 'celeba', samples: (skipped) => readCeleba(path, usage, skipped) };
}

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => {
    throw new Error(`${path}: cannot read it (is this CelebA's official layout? see docs/eval.md)`);
  });
}

async function* readCeleba(path: string, usage: string, skipped: SkipCounter): AsyncGenerator<EvalSample> {
  if ((await pathKind(path)) !== 'directory') throw new Error(`${path}: expected the CelebA folder`);
  const lines = (await readText(join(path, 'list_attr_celeba.txt'))).split(/\r?\n/);
  const columns = (lines[1] ?? '').trim().split(/\s+/);
  const index = (column: string) => {
    const i = columns.indexOf(column);
    if (i < 0) throw new Error(`${path}/list_attr_celeba.txt: no "${column}" column`);
    return i;
  };
  const male = index('Male');
  const attributes = Object.entries(CELEBA_COLUMNS).map(
    ([task, { column, negated }]) => [task, index(column), Boolean(negated)] as const,
  );
  const partition = new Map<string, number>();
  for (const line of (await readText(join(path, 'list_eval_partition.txt'))).split(/\r?\n/)) {
    const [name, value] = line.trim().split(/\s+/);
    if (name && value) partition.set(name, Number(value));
  }
  const wanted = usage === 'all' ? null : CELEBA_USAGES.indexOf(usage as (typeof CELEBA_USAGES)[number]);
  for (const line of lines.slice(2)) {
    const [name, ...values] = line.trim().split(/\s+/);
    if (!name || !IMAGE_EXTENSIONS.test(name)) continue;
    if (values.length !== columns.length) {
      skipped.add('malformed row', name);
      continue;
    }
    if (wanted !== null && partition.get(name) !== wanted) continue;
    const bytes = await readBytes(join(path, 'img_align_celeba', name));
    if (!bytes) continue; // a subset: the image is not there
    const labels: EvalSample['labels'] = { gender: values[male] === '1' ? 'male' : 'female' };
    for (const [task, i, negated] of attributes)
      labels[task as AttributeTask] = (values[i] === '1') !== negated;
    yield { name, bytes, labels };
  }
}
