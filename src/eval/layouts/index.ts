/** The dataset layouts `facemtl eval` reads. */
import { fer2013CsvReader } from './fer2013csv.js';
import { ferplusReader, readFer2013Labels } from './ferplus.js';
import { FOLDER_TASKS, foldersReader, type FolderTask } from './folders.js';
import type { DatasetReader } from './types.js';
import { utkfaceReader } from './utkface.js';

export const LAYOUTS = ['utkface', 'ferplus', 'fer2013-csv', 'folders'] as const;
export type Layout = (typeof LAYOUTS)[number];

export interface LayoutOptions {
  /** `ferplus`: the original 7-class labels CSV (`Usage,Image name,emotion,emotion_name`). */
  labels?: string;
  /** `fer2013-csv`: keep only rows of this `Usage` (`Training`, `PublicTest`, `PrivateTest`). */
  usage?: string;
  /** `folders`: the task the class folders are labels of. */
  task?: string;
}

export async function openLayout(
  layout: string,
  path: string,
  options: LayoutOptions = {},
): Promise<DatasetReader> {
  switch (layout) {
    case 'utkface':
      return utkfaceReader(path);
    case 'ferplus':
      return ferplusReader(path, options.labels ? await readFer2013Labels(options.labels) : undefined);
    case 'fer2013-csv':
      return fer2013CsvReader(path, options.usage);
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
export type { DatasetReader, EvalSample, EvalTask, DatasetGeometry } from './types.js';
export { parseUtkfaceName } from './utkface.js';
export { ferplusMajority, FER2013_CLASSES, FERPLUS_COLUMNS } from './ferplus.js';
