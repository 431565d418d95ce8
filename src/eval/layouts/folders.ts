/**
 * One subfolder per class (`happy/`, `Angry/`, `women/`, …) of image files, for one task. Class
 * names are matched to the model's labels with common synonyms (see `classes.ts`); a class the
 * model lacks keeps its own name and its images count as misses. A yes/no attribute (`smile`,
 * `eyeglasses`, …) has two subfolders: `smile/` and `not_smile/` (also `no_smile/`, `non_smile/`).
 */
import { isArchive, IMAGE_EXTENSIONS, join, listDirectory, pathKind, readBytes } from './files.js';
import {
  ATTRIBUTE_TASKS,
  isAttributeTask,
  type AttributeTask,
  type DatasetReader,
  type EvalSample,
  type SkipCounter,
} from './types.js';

export type FolderTask = 'emotion' | 'gender' | 'ethnicity' | AttributeTask;
export const FOLDER_TASKS: readonly FolderTask[] = ['emotion', 'gender', 'ethnicity', ...ATTRIBUTE_TASKS];

export function foldersReader(path: string, task: FolderTask): DatasetReader {
  return { tasks: [task], geometry: 'utkface', samples: (skipped) => readFolders(path, task, skipped) };
}

/** A yes/no folder name: true for `smile`, false for `not_smile` / `no-smile` / `nonsmile`; else null. */
export function attributeFolder(name: string, task: AttributeTask): boolean | null {
  const key = name.toLowerCase().replace(/[\s_\-.]+/g, '');
  if (key === task) return true;
  return ['not', 'no', 'non'].some((prefix) => key === prefix + task) ? false : null;
}

async function* readFolders(
  path: string,
  task: FolderTask,
  skipped: SkipCounter,
): AsyncGenerator<EvalSample> {
  if ((await pathKind(path)) !== 'directory' || isArchive(path)) {
    throw new Error(`${path}: expected a folder with one subfolder per class`);
  }
  const directories = (await listDirectory(path)).directories.filter((name) => !name.startsWith('.'));
  if (!directories.length) throw new Error(`${path}: no class subfolders`);
  for (const className of directories) {
    const folder = join(path, className);
    const yes = isAttributeTask(task) ? attributeFolder(className, task) : null;
    if (isAttributeTask(task) && yes === null) {
      throw new Error(
        `${path}: --task ${task} expects subfolders ${task}/ and not_${task}/, not "${className}/"`,
      );
    }
    const { files } = await listDirectory(folder);
    for (const file of files.filter((name) => IMAGE_EXTENSIONS.test(name))) {
      const bytes = await readBytes(join(folder, file));
      if (!bytes) skipped.add('unreadable file', `${className}/${file}`);
      else yield { name: `${className}/${file}`, bytes, labels: { [task]: yes ?? className } };
    }
  }
}
