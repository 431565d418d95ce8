#!/usr/bin/env node
/**
 * Smile sets that are not CelebA, as `smile/` and `not_smile/` folders for
 * `facemtl eval folders DIR --task smile`: a smile head that only learnt CelebA's look shows it
 * here (issue 15). Written into .cache/eval-data/ (ignored by git), from data in ../shared/data:
 *
 *   smile-fer/    FER2013 PublicTest (FER2013Valid), by the FER+ majority vote: `happiness` →
 *                 smile/, any other emotion → not_smile/ (unknown / not-a-face majorities dropped,
 *                 the FER+ protocol). 48×48 gray in-the-wild crops: score with `--framing fer`.
 *   smile-posed/  the posed-expression set's test performers (the folders
 *                 `training/python tools/posed_folders.py` writes): `happiness/` → smile/, the
 *                 other six expressions → not_smile/. Whole lab photos: score with `--detect`.
 *
 *   npm run build && node scripts/smile-folders.mjs [--data ../shared/data] [--posed .cache/eval-data/posed-test]
 *
 * A FER "happy" face is not always an open smile, nor every other face unsmiling; these are proxies
 * of a smile set, which is why both heads (the smile output and the emotion head's P(happy)) are
 * scored on the same faces.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { csvRows } from '../dist/eval/layouts/csv.js';
import { FERPLUS_COLUMNS, ferplusMajority } from '../dist/eval/layouts/index.js';
import { DATA_DIR, ROOT, evalDataDir } from './eval-data.mjs';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: DATA_DIR },
    posed: { type: 'string', default: join(ROOT, '.cache', 'eval-data', 'posed-test') },
  },
});
const OUT = join(ROOT, '.cache', 'eval-data');

/** Copies each source file into OUT/name/<its class>/, replacing what was there. */
function writeFolders(name, files) {
  const dir = join(OUT, name);
  rmSync(dir, { recursive: true, force: true });
  const counts = { smile: 0, not_smile: 0 };
  for (const { path, smile } of files) {
    const label = smile ? 'smile' : 'not_smile';
    mkdirSync(join(dir, label), { recursive: true });
    copyFileSync(path, join(dir, label, basename(path)));
    counts[label] += 1;
  }
  console.log(`${dir}: ${counts.smile} smile, ${counts.not_smile} not_smile`);
}

// FER+ label.csv rows: name, "(box)", then the vote counts; the label is `facemtl eval ferplus`'s
// (the majority, unknown / not-a-face majorities dropped).
const ferValid = evalDataDir('FER2013Valid', args.data);
const ferFiles = [];
for await (const row of csvRows(join(ferValid, 'label.csv'))) {
  const votes = row.slice(2, 2 + FERPLUS_COLUMNS.length).map(Number);
  if (!row[0] || votes.length < FERPLUS_COLUMNS.length || votes.some(Number.isNaN)) continue;
  const label = ferplusMajority(votes);
  const path = join(ferValid, row[0]);
  if (label && existsSync(path)) ferFiles.push({ path, smile: label === 'happiness' });
}
writeFolders('smile-fer', ferFiles);

if (existsSync(args.posed)) {
  const posedFiles = readdirSync(args.posed).flatMap((expression) =>
    readdirSync(join(args.posed, expression)).map((file) => ({
      path: join(args.posed, expression, file),
      smile: expression === 'happiness',
    })),
  );
  writeFolders('smile-posed', posedFiles);
} else {
  console.error(
    `smile-folders: ${args.posed} not found (training/python tools/posed_folders.py writes it): smile-posed left out`,
  );
}
