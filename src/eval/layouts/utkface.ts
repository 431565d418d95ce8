/**
 * UTKFace: `<age>_<gender>_<race>_<datetime>.jpg.chip.jpg` files in a folder (or its `UTKFace/`
 * subfolder) or in a `.tar.gz` archive of it. Gender 0 male, 1 female; race 0–4 white, black,
 * asian, indian, other. Names that do not follow the pattern are skipped and counted.
 */
import { basename } from 'node:path';
import { readTar } from '../tar.js';
import { IMAGE_EXTENSIONS, isArchive, join, listDirectory, pathKind, readBytes } from './files.js';
import type { DatasetReader, EvalSample, SkipCounter } from './types.js';

const GENDERS = ['male', 'female'];
const RACES = ['white', 'black', 'asian', 'indian', 'other'];
const NAME = /^(\d{1,3})_(\d)_(\d)_\d+/;

/** The labels in a UTKFace file name, or null when the name is malformed. */
export function parseUtkfaceName(name: string): { age: number; gender: string; ethnicity: string } | null {
  const match = NAME.exec(basename(name));
  if (!match) return null;
  const gender = GENDERS[Number(match[2])];
  const ethnicity = RACES[Number(match[3])];
  if (!gender || !ethnicity) return null;
  return { age: Number(match[1]), gender, ethnicity };
}

export function utkfaceReader(path: string): DatasetReader {
  return {
    tasks: ['age', 'gender', 'ethnicity'],
    geometry: 'utkface',
    samples: (skipped) => readUtkface(path, skipped),
  };
}

async function* readUtkface(path: string, skipped: SkipCounter): AsyncGenerator<EvalSample> {
  if ((await pathKind(path)) === 'file') {
    if (!isArchive(path)) throw new Error(`${path}: expected a UTKFace folder or a .tar.gz archive of it`);
    for await (const entry of readTar(path, (name) => IMAGE_EXTENSIONS.test(name))) {
      const sample = labelled(entry.name, entry.data, skipped);
      if (sample) yield sample;
    }
    return;
  }
  for (const file of await utkfaceFiles(path)) {
    const bytes = await readBytes(file);
    const sample = bytes ? labelled(file, bytes, skipped) : null;
    if (!bytes) skipped.add('unreadable file', basename(file));
    if (sample) yield sample;
  }
}

function labelled(name: string, bytes: Buffer, skipped: SkipCounter): EvalSample | null {
  const labels = parseUtkfaceName(name);
  if (!labels) {
    skipped.add('malformed name', basename(name));
    return null;
  }
  return { name: basename(name), bytes, labels };
}

/** Image files directly in `path` and in a `UTKFace/` subfolder, sorted by name. */
async function utkfaceFiles(path: string): Promise<string[]> {
  const { files, directories } = await listDirectory(path);
  const found = files.filter((file) => IMAGE_EXTENSIONS.test(file)).map((file) => join(path, file));
  const sub = directories.find((name) => name.toLowerCase() === 'utkface');
  if (sub) {
    const inner = await listDirectory(join(path, sub));
    found.push(
      ...inner.files.filter((file) => IMAGE_EXTENSIONS.test(file)).map((file) => join(path, sub, file)),
    );
  }
  if (!found.length)
    throw new Error(`${path}: no UTKFace images (*.jpg) in the folder or its UTKFace/ subfolder`);
  return found;
}
