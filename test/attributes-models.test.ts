/**
 * The yes/no attributes on real model files: the shipped model reports them (when it has the
 * output) through the library and the CLI; a model file from before them still loads and works
 * everywhere, with no `attributes` key and empty CSV columns.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContract } from '../src/attributes/contract.js';
import { CSV_HEADER } from '../src/cli/analyze.js';
import { FaceAnalyzer } from '../src/pipeline/index.js';
import { SHIPPED_ATTRIBUTES } from './fixtures/face.js';
import { modelWithoutAttributes } from './fixtures/old-model.js';

const CLI = 'dist/cli/main.js';
const PHOTO = 'node_modules/@vladmandic/face-api/demo/sample1.jpg'; // three faces
const contract = loadContract();
const ATTRIBUTE_COLUMNS = CSV_HEADER.filter((column) =>
  contract.outputs.attributes?.labels.some((name) => column === `${name}_probability`),
);

async function facemtl(...args: string[]) {
  const { stdout, stderr } = await promisify(execFile)('node', [CLI, ...args, '--threads', '1'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return { stdout, stderr };
}

/** CSV text → one record per row (no quoted fields in these rows). */
function csvRecords(text: string): Record<string, string>[] {
  const [header, ...rows] = text.trim().split('\n');
  const columns = header.split(',');
  expect(columns).toEqual(CSV_HEADER);
  return rows.map((row) => {
    const values = row.split(',');
    expect(values).toHaveLength(columns.length);
    return Object.fromEntries(columns.map((column, k) => [column, values[k]]));
  });
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('run `npm run build` first');
});

describe.skipIf(SHIPPED_ATTRIBUTES.length === 0)('the shipped model: attributes', () => {
  let analyzer: FaceAnalyzer;
  beforeAll(async () => {
    analyzer = await FaceAnalyzer.create({ threads: 1 });
  });
  afterAll(() => analyzer.dispose());

  it('every face carries each attribute: a probability and the decision at the contract threshold', async () => {
    const { faces } = await analyzer.analyze(PHOTO);
    expect(faces).toHaveLength(3);
    const thresholds = contract.outputs.attributes.thresholds!;
    for (const face of faces) {
      expect(Object.keys(face.attributes!)).toEqual([...SHIPPED_ATTRIBUTES]);
      SHIPPED_ATTRIBUTES.forEach((name, k) => {
        const { probability, present } = face.attributes![name];
        expect(probability).toBeGreaterThanOrEqual(0);
        expect(probability).toBeLessThanOrEqual(1);
        expect(probability).toBeCloseTo(face.raw!.attributes[k], 4);
        expect(present).toBe(face.raw!.attributes[k] >= thresholds[k]);
      });
    }
  });

  it('the CLI: --csv fills the attribute columns, the table names the present ones', async () => {
    const records = csvRecords((await facemtl('analyze', PHOTO, '--csv')).stdout);
    expect(records).toHaveLength(3);
    for (const record of records) {
      for (const column of ATTRIBUTE_COLUMNS) {
        const value = Number(record[column]);
        expect(record[column]).not.toBe('');
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThanOrEqual(1);
      }
    }
    const json = JSON.parse((await facemtl('analyze', PHOTO, '--json')).stdout) as {
      faces: { attributes: Record<string, { probability: number; present: boolean }> }[];
    }[];
    const table = (await facemtl('analyze', PHOTO)).stdout.trim().split('\n').slice(1);
    json[0].faces.forEach((face, index) => {
      const shown = Object.entries(face.attributes)
        .filter(([, attribute]) => attribute.present)
        .map(([name]) => (name === 'eyeglasses' ? 'glasses' : name));
      if (shown.length > 0) expect(table[index].endsWith(`  ${shown.join(', ')}`)).toBe(true);
      else expect(table[index]).toMatch(/%$/);
    });
  }, 180_000);
});

describe('a model file from before the attributes', () => {
  it('loads and analyses, with no `attributes` key, with its own contract or the package’s', async () => {
    for (const modelPath of [modelWithoutAttributes(), modelWithoutAttributes({ contract: false })]) {
      const analyzer = await FaceAnalyzer.create({ modelPath, threads: 1 });
      try {
        const { faces } = await analyzer.analyze(PHOTO);
        expect(faces).toHaveLength(3);
        for (const face of faces) {
          expect(face).not.toHaveProperty('attributes');
          expect(Object.keys(JSON.parse(JSON.stringify(face)))).not.toContain('attributes');
          expect(face.age.years).toBeGreaterThan(0);
        }
      } finally {
        await analyzer.dispose();
      }
    }
  });

  it('the CLI: --json without `attributes`, --csv with the columns empty, --annotate and explain work', async () => {
    const model = modelWithoutAttributes();
    const json = JSON.parse((await facemtl('analyze', PHOTO, '--json', '--model', model)).stdout) as {
      faces: object[];
    }[];
    expect(json[0].faces).toHaveLength(3);
    for (const face of json[0].faces) expect(face).not.toHaveProperty('attributes');

    const records = csvRecords((await facemtl('analyze', PHOTO, '--csv', '--model', model)).stdout);
    expect(records).toHaveLength(3);
    for (const record of records) {
      expect(record.emotion).not.toBe('');
      for (const column of ATTRIBUTE_COLUMNS) expect(record[column]).toBe('');
    }

    const out = mkdtempSync(join(tmpdir(), 'facemtl-old-model-out-'));
    const annotate = await facemtl('analyze', PHOTO, '--annotate', out, '--model', model);
    expect(annotate.stderr).toBe('');
    expect(readdirSync(out)).toEqual(['sample1.jpg']);

    const explain = JSON.parse(
      (
        await facemtl(
          'explain',
          PHOTO,
          '--json',
          '--stride',
          '16',
          '--max-faces',
          '1',
          '--out',
          out,
          '--model',
          model,
        )
      ).stdout,
    ) as { faces: { heads: object }[] };
    expect(Object.keys(explain.faces[0].heads)).toEqual(['age', 'gender', 'ethnicity', 'emotion']);
  }, 240_000);
});
