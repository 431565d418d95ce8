/**
 * FER+ : `FER2013Train/`, `FER2013Valid/`, `FER2013Test/` folders of 48×48 PNGs, each with a
 * `label.csv` (`name,"(0, 0, 48, 48)",` then 10 vote counts), given as one such folder, their
 * parent, or a `.tar.gz` of them. The FER+ label of an image is the majority of its votes;
 * `--labels` adds the original 7-class FER2013 label of each image.
 */
import { basename, dirname } from 'node:path';
import { argmax } from '../metrics.js';
import { readTar } from '../tar.js';
import { csvRecords, csvRows } from './csv.js';
import { isArchive, join, listDirectory, pathKind, readBytes } from './files.js';
import type { DatasetReader, EvalSample, EvalTask, SkipCounter } from './types.js';

/** The vote columns of FER+'s `label.csv`, in file order. */
export const FERPLUS_COLUMNS = [
  'neutral', 'happiness', 'surprise', 'sadness', 'anger', 'disgust', 'fear', 'contempt', 'unknown', 'NF',
] as const; // prettier-ignore
const EMOTION_COLUMNS = 8; // the columns after these (unknown, not-a-face) are not emotions

/** The original FER2013 classes by their number in `fer2013.csv`'s `emotion` column. */
export const FER2013_CLASSES = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;

/**
 * The FER+ majority label of 10 vote counts, or null when the most-voted column is `unknown` or
 * `NF` (the FER+ protocol drops those images) or there are no votes. Ties go to the column that
 * comes first in `label.csv` order (the same rule as the training code's `argmax`).
 */
export function ferplusMajority(votes: readonly number[]): string | null {
  const best = argmax(votes);
  if (!(votes[best] > 0) || best >= EMOTION_COLUMNS) return null;
  return FERPLUS_COLUMNS[best];
}

/** `Usage,Image name,emotion,emotion_name` → image name → original FER2013 class name. */
export async function readFer2013Labels(path: string): Promise<Map<string, string>> {
  await pathKind(path);
  const labels = new Map<string, string>();
  for await (const record of csvRecords(path)) {
    const name = record['Image name'];
    const label = FER2013_CLASSES[Number(record.emotion)];
    // four names occur twice in fer2013new.csv: the later row wins, as the dataset notes say
    if (name && label && record.emotion !== '') labels.set(name, label);
  }
  if (!labels.size) throw new Error(`${path}: no labels found (expected columns "Image name" and "emotion")`);
  return labels;
}

export function ferplusReader(path: string, labels7?: Map<string, string>): DatasetReader {
  const tasks: EvalTask[] = labels7 ? ['emotion_ferplus', 'emotion_fer2013'] : ['emotion_ferplus'];
  return { tasks, geometry: 'fer', samples: (skipped) => readFerplus(path, labels7, skipped) };
}

type Votes = Map<string, string | null>; // "<folder>/<image name>" → majority label (null: none)

async function* readFerplus(path: string, labels7: Map<string, string> | undefined, skipped: SkipCounter) {
  if ((await pathKind(path)) === 'file') {
    if (!isArchive(path))
      throw new Error(`${path}: expected a FER2013* folder, its parent, or a .tar.gz of them`);
    // label.csv comes after the images in the archive: a first pass reads only the CSVs
    const votes: Votes = new Map();
    for await (const entry of readTar(path, (name) => basename(name) === 'label.csv')) {
      await addVotes(votes, dirname(entry.name), { text: entry.data.toString('utf8') });
    }
    for await (const entry of readTar(path, (name) => /\.png$/i.test(name))) {
      const sample = labelled(dirname(entry.name), basename(entry.name), entry.data, votes, labels7, skipped);
      if (sample) yield sample;
    }
    return;
  }
  for (const folder of await ferFolders(path)) {
    const votes: Votes = new Map();
    const { files } = await listDirectory(folder);
    if (files.includes('label.csv')) await addVotes(votes, '', join(folder, 'label.csv'));
    else if (!labels7) throw new Error(`${folder}: no label.csv (and no --labels file)`);
    for (const file of files.filter((name) => /\.png$/i.test(name))) {
      const bytes = await readBytes(join(folder, file));
      const sample = bytes ? labelled('', file, bytes, votes, labels7, skipped) : null;
      if (!bytes) skipped.add('unreadable file', file);
      if (sample) yield sample;
    }
  }
}

async function addVotes(votes: Votes, folder: string, source: string | { text: string }): Promise<void> {
  for await (const row of csvRows(source)) {
    if (row.length < 2 + FERPLUS_COLUMNS.length || !row[0]) continue;
    const counts = row.slice(2, 2 + FERPLUS_COLUMNS.length).map(Number);
    votes.set(`${folder}/${row[0]}`, counts.some(Number.isNaN) ? null : ferplusMajority(counts));
  }
}

function labelled(
  folder: string,
  name: string,
  bytes: Buffer,
  votes: Votes,
  labels7: Map<string, string> | undefined,
  skipped: SkipCounter,
): EvalSample | null {
  const key = `${folder}/${name}`;
  const majority = votes.get(key);
  const original = labels7?.get(name);
  const labels: EvalSample['labels'] = {};
  if (majority) labels.emotion_ferplus = majority;
  if (original) labels.emotion_fer2013 = original;
  if (majority || original) return { name, bytes, labels };
  skipped.add(votes.has(key) ? 'FER+ majority is unknown or not-a-face' : 'no label', name);
  return null;
}

/** The FER2013* folders to read: `path` itself, or its FER2013* subfolders. */
async function ferFolders(path: string): Promise<string[]> {
  const { files, directories } = await listDirectory(path);
  if (files.includes('label.csv') || /^fer2013/i.test(basename(path))) return [path];
  const folders = directories.filter((name) => /^fer2013/i.test(name)).map((name) => join(path, name));
  if (!folders.length) throw new Error(`${path}: no FER2013* folders with a label.csv`);
  return folders;
}
