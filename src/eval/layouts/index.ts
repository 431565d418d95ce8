/** The dataset layouts `facemtl eval` reads. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { celebaReader } from './celeba.js';
import { fairfaceReader } from './fairface.js';
import { fer2013CsvReader } from './fer2013csv.js';
import { ferplusReader, readFer2013Labels } from './ferplus.js';
import { FOLDER_TASKS, foldersReader, type FolderTask } from './folders.js';
import type { DatasetReader } from './types.js';
import { utkfaceReader } from './utkface.js';

export const LAYOUTS = ['utkface', 'ferplus', 'fer2013-csv', 'folders', 'celeba', 'fairface'] as const;
export type Layout = (typeof LAYOUTS)[number];

export interface LayoutOptions {
  /** `ferplus`: the original 7-class labels CSV (`Usage,Image name,emotion,emotion_name`). */
  labels?: string;
  /**
   * `fer2013-csv`: keep only rows of this `Usage` (`Training`, `PublicTest`, `PrivateTest`);
   * `celeba`: the official partition `train`, `val`, `test` (default) or `all`;
   * `fairface`: the label file `train` or `val` (default).
   */
  usage?: string;
  /** `folders`: the task the class folders are labels of. */
  task?: string;
  /**
   * A text file of sample names, one per line (e.g. `training/splits/utkface-test.txt`): only
   * samples whose file name is listed are scored (unusable files are still counted as skipped).
   */
  only?: string;
}

export async function openLayout(
  layout: string,
  path: string,
  options: LayoutOptions = {},
): Promise<DatasetReader> {
  const reader = await openReader(layout, path, options);
  return options.only ? onlyListed(reader, await readNameList(options.only)) : reader;
}

/** The names in a list file: one per line, blank lines and `#` comments ignored. */
export async function readNameList(file: string): Promise<Set<string>> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`${file}: cannot read the name list (${error.code ?? error.message})`);
  });
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => basename(line));
  if (names.length === 0) throw new Error(`${file}: the name list is empty`);
  return new Set(names);
}

function onlyListed(reader: DatasetReader, names: Set<string>): DatasetReader {
  return {
    ...reader,
    async *samples(skipped) {
      for await (const sample of reader.samples(skipped)) if (names.has(basename(sample.name))) yield sample;
    },
  };
}

async function openReader(layout: string, path: string, options: LayoutOptions): Promise<DatasetReader> {
  switch (layout) {
    case 'utkface':
      return utkfaceReader(path);
    case 'ferplus':
      return ferplusReader(path, options.labels ? await readFer2013Labels(options.labels) : undefined);
    case 'fer2013-csv':
      return fer2013CsvReader(path, options.usage);
    case 'celeba':
      return celebaReader(path, options.usage);
    case 'fairface':
      return fairfaceReader(path, options.usage);
    case 'folders': {
      const task = options.task as FolderTask;
      if (!FOLDER_TASKS.includes(task)) throw new Error(`folders needs --task ${FOLDER_TASKS.join('|')}`);
      return foldersReader(path, task);
    }
    default:
      throw new Error(`unknown layout "${layout}" (expected ${LAYOUTS.join(', ')})`);
  }
}

export { SkipCounter } from './types.js';
export { ATTRIBUTE_TASKS, isAttributeTask } from './types.js';
export type { AttributeTask, DatasetReader, EvalSample, EvalTask, DatasetGeometry } from './types.js';
export { parseUtkfaceName } from './utkface.js';
export { ferplusMajority, FER2013_CLASSES, FERPLUS_COLUMNS } from './ferplus.js';
