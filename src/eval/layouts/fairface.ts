/**
 * FairFace in its own layout: `fairface_label_<usage>.csv` (`file,age,gender,race,service_test`)
 * and the images it names (`val/1.jpg`, …; the padding-0.25 face chips). Gender and race are
 * scored; FairFace's 7 race groups map onto the model's 5 as its README says (East and Southeast
 * Asian → asian, Latino_Hispanic and Middle Eastern → other). Age groups are not ages: not scored.
 */
import { readFile } from 'node:fs/promises';
import { join, pathKind, readBytes } from './files.js';
import type { DatasetReader, EvalSample, SkipCounter } from './types.js';

const RACES: Record<string, string> = {
  White: 'white',
  Black: 'black',
  'East Asian': 'asian',
  'Southeast Asian': 'asian',
  Indian: 'indian',
  Latino_Hispanic: 'other',
  'Middle Eastern': 'other',
};

export function fairfaceReader(path: string, usage = 'val'): DatasetReader {
  return {
    tasks: ['gender', 'ethnicity'],
    geometry: 'fairface',
    samples: (skipped) => read(path, usage, skipped),
  };
}

async function* read(path: string, usage: string, skipped: SkipCounter): AsyncGenerator<EvalSample> {
  if ((await pathKind(path)) !== 'directory') throw new Error(`${path}: expected the FairFace folder`);
  const csv = join(path, `fairface_label_${usage}.csv`);
  const text = await readFile(csv, 'utf8').catch(() => {
    throw new Error(`${csv}: cannot read it (--usage train | val; see docs/eval.md)`);
  });
  const [header, ...rows] = text.split(/\r?\n/).filter((line) => line.trim());
  const columns = header.split(',');
  const at = (name: string) => columns.indexOf(name);
  const [file, gender, race] = [at('file'), at('gender'), at('race')];
  if (file < 0 || gender < 0 || race < 0)
    throw new Error(`${csv}: expected the columns file, gender and race`);
  for (const row of rows) {
    const cells = row.split(',');
    const name = cells[file];
    const ethnicity = RACES[cells[race]];
    if (!ethnicity || !['Male', 'Female'].includes(cells[gender])) {
      skipped.add('malformed row', name ?? row);
      continue;
    }
    const bytes = await readBytes(join(path, name));
    if (!bytes) skipped.add('unreadable file', name);
    else yield { name, bytes, labels: { gender: cells[gender].toLowerCase(), ethnicity } };
  }
}
