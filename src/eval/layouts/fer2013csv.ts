/**
 * The original FER2013 file `fer2013.csv`: `emotion,pixels,Usage` with 2304 space-separated gray
 * values (48×48) per row and the emotion as 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad,
 * 5 surprise, 6 neutral. `usage` keeps only the rows of one split (e.g. `PrivateTest`).
 */
import sharp from 'sharp';
import { csvRecords } from './csv.js';
import { FER2013_CLASSES } from './ferplus.js';
import { pathKind } from './files.js';
import type { DatasetReader, EvalSample, SkipCounter } from './types.js';

const SIDE = 48;

export function fer2013CsvReader(path: string, usage?: string): DatasetReader {
  return {
    tasks: ['emotion_fer2013'],
    geometry: 'fer',
    samples: (skipped) => readFer2013Csv(path, usage, skipped),
  };
}

async function* readFer2013Csv(path: string, usage: string | undefined, skipped: SkipCounter) {
  if ((await pathKind(path)) !== 'file') throw new Error(`${path}: expected the fer2013.csv file`);
  let row = 0;
  let sawColumns = false;
  for await (const record of csvRecords(path)) {
    row += 1;
    if (!sawColumns) {
      if (!('pixels' in record) || !('emotion' in record)) {
        throw new Error(`${path}: not a fer2013.csv (expected the columns emotion,pixels,Usage)`);
      }
      sawColumns = true;
    }
    if (usage && record.Usage !== usage) continue;
    const name = `row ${row}`;
    const label = FER2013_CLASSES[Number(record.emotion)];
    if (!label || record.emotion === '') {
      skipped.add('bad emotion label', name);
      continue;
    }
    const pixels = grayPixels(record.pixels);
    if (!pixels) {
      skipped.add(`pixels are not ${SIDE * SIDE} values 0-255`, name);
      continue;
    }
    const bytes = await sharp(pixels, { raw: { width: SIDE, height: SIDE, channels: 1 } })
      .png()
      .toBuffer();
    const sample: EvalSample = { name, bytes, labels: { emotion_fer2013: label } };
    yield sample;
  }
}

function grayPixels(text: string | undefined): Buffer | null {
  const values = (text ?? '').trim().split(/\s+/);
  if (values.length !== SIDE * SIDE) return null;
  const pixels = Buffer.alloc(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = Number(values[i]);
    if (!Number.isInteger(value) || value < 0 || value > 255) return null;
    pixels[i] = value;
  }
  return pixels;
}
