/**
 * Test-time flip averaging (`flipAverage`): each crop is also run mirrored left–right in the same
 * batch and the two outputs are averaged. Checked against the model's own outputs on the crops and
 * on mirrors made here, independently of the library's mirroring.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContract } from '../src/attributes/contract.js';
import { averageFlipped, type RawOutputs } from '../src/attributes/decode.js';
import { AttributeModel, sessionOptions } from '../src/attributes/model.js';
import { loadImage } from '../src/image/load.js';
import { FaceAnalyzer } from '../src/pipeline/index.js';

const PHOTO = 'node_modules/@vladmandic/face-api/demo/sample1.jpg'; // three faces
const contract = loadContract();
const SIZE = contract.input.size;

/** A CHW crop mirrored left–right, written out pixel by pixel. */
function mirror(crop: Float32Array): Float32Array {
  const out = new Float32Array(crop.length);
  for (let channel = 0; channel < 3; channel++)
    for (let y = 0; y < SIZE; y++)
      for (let x = 0; x < SIZE; x++) {
        const row = (channel * SIZE + y) * SIZE;
        out[row + x] = crop[row + SIZE - 1 - x];
      }
  return out;
}

/** What flip averaging should give, from the two runs: mean probabilities, mean age, RMS std. */
function expectedAverage(a: RawOutputs, b: RawOutputs): RawOutputs {
  return Object.fromEntries(
    Object.keys(a).map((name) => [
      name,
      name === 'age'
        ? [(a.age[0] + b.age[0]) / 2, Math.sqrt((a.age[1] ** 2 + b.age[1] ** 2) / 2)]
        : a[name].map((value, k) => (value + b[name][k]) / 2),
    ]),
  );
}

function expectClose(actual: RawOutputs, expected: RawOutputs, tolerance: number) {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const [name, values] of Object.entries(expected)) {
    expect(actual[name]).toHaveLength(values.length);
    values.forEach((value, k) =>
      expect(Math.abs(actual[name][k] - value), `${name}[${k}]`).toBeLessThan(tolerance),
    );
  }
}

/** The largest difference between two faces' outputs. */
function largestDifference(a: RawOutputs, b: RawOutputs): number {
  return Math.max(
    ...Object.keys(a).flatMap((name) => a[name].map((value, k) => Math.abs(value - b[name][k]))),
  );
}

describe('flip averaging', () => {
  let plain: AttributeModel;
  let flipped: AttributeModel;
  let analyzer: FaceAnalyzer;
  let crops: Float32Array[];

  beforeAll(async () => {
    plain = await AttributeModel.create({ threads: 1 });
    flipped = await AttributeModel.create({ threads: 1, flipAverage: true });
    analyzer = await FaceAnalyzer.create({ threads: 1 });
    const image = await loadImage(PHOTO);
    crops = analyzer.crops(image, await analyzer.detect(image));
    expect(crops).toHaveLength(3);
  });
  afterAll(async () => {
    await Promise.all([plain.dispose(), flipped.dispose(), analyzer.dispose()]);
  });

  it('is off by default, and then the outputs are the model’s, bit for bit', async () => {
    expect(plain.flipAverage).toBe(false);
    expect(flipped.flipAverage).toBe(true);
    const session = await ort.InferenceSession.create(plain.modelPath, sessionOptions(1));
    try {
      const batch = new Float32Array(crops.length * crops[0].length);
      crops.forEach((crop, i) => batch.set(crop, i * crop.length));
      const input = new ort.Tensor('float32', batch, [crops.length, 3, SIZE, SIZE]);
      const outputs = await session.run({ [contract.input.name]: input });
      const faces = await plain.runRaw(crops);
      for (const [name, tensor] of Object.entries(outputs)) {
        const width = tensor.dims[1];
        faces.forEach((face, i) =>
          expect(face[name]).toEqual(
            Array.from((tensor.data as Float32Array).slice(i * width, (i + 1) * width)),
          ),
        );
      }
    } finally {
      await session.release();
    }
    const off = await AttributeModel.create({ threads: 1, flipAverage: false });
    try {
      expect(await off.runRaw(crops)).toEqual(await plain.runRaw(crops));
    } finally {
      await off.dispose();
    }
  });

  it('a left–right symmetric crop gives the same outputs with and without it', async () => {
    const symmetric = crops.map((crop) => {
      const mirrored = mirror(crop);
      return crop.map((value, i) => (value + mirrored[i]) / 2);
    });
    expect(mirror(symmetric[0])).toEqual(symmetric[0]);
    const [withFlip, without] = [await flipped.runRaw(symmetric), await plain.runRaw(symmetric)];
    withFlip.forEach((face, i) => expectClose(face, without[i], 1e-5));
  });

  it('averages each real crop’s outputs with its mirror’s, in one batch of 2N', async () => {
    const [originals, mirrors] = [await plain.runRaw(crops), await plain.runRaw(crops.map(mirror))];
    const averaged = await flipped.runRaw(crops);
    expect(averaged).toHaveLength(crops.length);
    averaged.forEach((face, i) => {
      expectClose(face, expectedAverage(originals[i], mirrors[i]), 1e-5);
      // the mirror is a different input: the average is not the plain output
      expect(largestDifference(face, originals[i])).toBeGreaterThan(1e-3);
    });
    // the caller's crops are left as they were
    expect(await plain.runRaw(crops)).toEqual(originals);
  });

  it('FaceAnalyzer and `facemtl analyze --flip` pass the option to the model', async () => {
    const flipping = await FaceAnalyzer.create({ threads: 1, flipAverage: true });
    try {
      expect(flipping.model.flipAverage).toBe(true);
      expect(analyzer.model.flipAverage).toBe(false);
      const analysis = await flipping.analyze(PHOTO);
      const expected = await flipped.runRaw(crops);
      analysis.faces.forEach((face, i) => expectClose(face.raw!, expected[i], 1e-6));
      // `facemtl analyze --flip` (the built CLI) reports what the library does with the option
      const cli = async (...flags: string[]) => {
        const args = ['dist/cli/main.js', 'analyze', PHOTO, '--json', '--threads', '1', ...flags];
        return JSON.parse((await promisify(execFile)('node', args)).stdout)[0];
      };
      const [withFlag, withoutFlag] = [await cli('--flip'), await cli()];
      expect(withFlag).toEqual(JSON.parse(JSON.stringify({ file: PHOTO, ...analysis })));
      expect(withoutFlag).toEqual(
        JSON.parse(JSON.stringify({ file: PHOTO, ...(await analyzer.analyze(PHOTO)) })),
      );
      expect(withFlag.faces[0].age).not.toEqual(withoutFlag.faces[0].age);
    } finally {
      await flipping.dispose();
    }
  }, 180_000); // two CLI processes: slow on a loaded machine
});

describe('averageFlipped', () => {
  it('averages probabilities and age means, and takes the root of the mean variance as the std', () => {
    const a: RawOutputs = { age: [30, 3], gender: [0.2, 0.8], attributes: [0.9, 0.1] };
    const b: RawOutputs = { age: [40, 4], gender: [0.4, 0.6], attributes: [0.5, 0.3] };
    const averaged = averageFlipped(a, b, contract);
    expect(averaged.age[0]).toBe(35);
    expect(averaged.age[1]).toBeCloseTo(Math.sqrt(12.5), 12);
    expect(averaged.gender[0]).toBeCloseTo(0.3, 12);
    expect(averaged.gender[1]).toBeCloseTo(0.7, 12);
    expect(averaged.attributes[0]).toBeCloseTo(0.7, 12);
    expect(averaged.attributes[1]).toBeCloseTo(0.2, 12);
    expect(averageFlipped(b, a, contract)).toEqual(averaged);
  });
});
