/**
 * The benchmark's face samples: a fixed, evenly spaced subset of the UTKFace test split and of
 * FER2013's PublicTest rows, with their labels, decoded to RGB pixels once so that every model
 * sees exactly the same crops. Labels are parsed by `facemtl eval`'s own readers (src/eval/layouts).
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { fromDist } from './dist.mjs';

const { parseUtkfaceName, ferplusMajority } = await fromDist('eval/layouts/index.js');
const { readFer2013Labels } = await fromDist('eval/layouts/ferplus.js');

/** `n` items spread evenly over `items` (all of them when n ≥ length): keeps a sorted list's strata. */
export function evenlySpaced(items, n) {
  if (n >= items.length) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]);
}

/**
 * UTKFace samples `{ file, age, gender, ethnicity }` from the split list when it exists, else from
 * every 10th sorted file of the folder (a stand-in). Names without all three labels are skipped
 * (three files of the published set have no race field).
 */
export function utkfaceSamples({ dir, splitList, n }) {
  let names;
  let source;
  if (splitList && fs.existsSync(splitList)) {
    names = fs.readFileSync(splitList, 'utf8').split('\n').map((line) => line.trim()).filter(Boolean); // prettier-ignore
    source = splitList;
  } else {
    names = fs.readdirSync(dir).filter((name) => name.endsWith('.jpg')).sort().filter((_, i) => i % 10 === 0); // prettier-ignore
    source = `every 10th sorted file of ${dir} (split list ${splitList} not found)`;
  }
  const labelled = names
    .sort()
    .map((name) => {
      const labels = parseUtkfaceName(name);
      return labels && { file: path.join(dir, name), ...labels };
    })
    .filter(Boolean);
  return { source, population: labelled.length, samples: evenlySpaced(labelled, n) };
}

/**
 * FER2013 PublicTest samples `{ file, fer2013, ferplus }` from a `FER2013Valid/` folder: the
 * original 7-class label and the FER+ majority label (null when the majority is 'unknown' or 'not
 * a face': such faces are left out of the FER+ score).
 */
export async function ferSamples({ dir, labelsCsv, n }) {
  const original = await readFer2013Labels(labelsCsv);
  const labelled = [];
  for (const line of fs.readFileSync(path.join(dir, 'label.csv'), 'utf8').split('\n')) {
    const fields = line.trim().split(',');
    if (fields.length < 12 || !original.has(fields[0])) continue;
    labelled.push({
      file: path.join(dir, fields[0]),
      fer2013: original.get(fields[0]),
      ferplus: ferplusMajority(fields.slice(-10).map(Number)),
    });
  }
  labelled.sort((a, b) => a.file.localeCompare(b.file));
  return {
    source: `${path.join(dir, 'label.csv')} + ${labelsCsv}`,
    population: labelled.length,
    samples: evenlySpaced(labelled, n),
  };
}

/** Decodes an image file to 8-bit RGB `{ data, width, height }` (grayscale copied into R, G and B). */
export async function decodeRgb(file) {
  const { data, info } = await sharp(file)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3)
    throw new Error(`${file}: expected 3 channels after decoding, got ${info.channels}`);
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}
