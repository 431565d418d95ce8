/**
 * The yes/no attributes (smile, eyeglasses, …) through the runtime's surfaces, on scripted model
 * outputs: decoding with the contract's thresholds, the CLI's CSV columns and table, the video
 * smoother, the explanation maps, and models without the output (no `attributes` anywhere).
 */
import { describe, expect, it } from 'vitest';
import { attributeSummary, binaryLabels, presentAttributes } from '../src/attributes/binary.js';
import { loadContract, type ModelContract } from '../src/attributes/contract.js';
import { decodeAttributes, type RawOutputs } from '../src/attributes/decode.js';
import { CSV_HEADER, csvRows, type FileResult } from '../src/cli/analyze.js';
import type { Detection } from '../src/detect/blazeface.js';
import { occlusionMaps, regionShares } from '../src/explain/occlusion.js';
import type { FaceAnalyzer } from '../src/pipeline/index.js';
import { toFace } from '../src/pipeline/face.js';
import { VideoAnalyzer } from '../src/video/analyzer.js';

const shipped = loadContract();
const ATTRIBUTES = ['smile', 'eyeglasses', 'makeup', 'lipstick', 'beard', 'moustache', 'sideburns'];

/** A contract with the binary output and its thresholds (smile 0.7, the others 0.4). */
const withAttributes: ModelContract = {
  ...shipped,
  outputs: {
    ...shipped.outputs,
    attributes: { kind: 'binary', labels: ATTRIBUTES, thresholds: [0.7, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4] },
  },
};
/** The contract of models before the attributes (v1): no such output. */
const withoutAttributes: ModelContract = {
  ...shipped,
  outputs: Object.fromEntries(Object.entries(shipped.outputs).filter(([name]) => name !== 'attributes')),
};

const emotionLabels = shipped.outputs.emotion.labels;
const ethnicityLabels = shipped.outputs.ethnicity.labels;

/** One face's raw outputs; `attributes` only when given (an older model has none). */
function raw(attributes?: number[]): RawOutputs {
  return {
    age: [30, 4],
    gender: [0.2, 0.8],
    ethnicity: ethnicityLabels.map((_, k) => (k === 0 ? 0.6 : 0.1)),
    emotion: emotionLabels.map((label) => (label === 'happy' ? 0.65 : 0.05)),
    ...(attributes ? { attributes } : {}),
  };
}

const detection: Detection = {
  box: { x: 10, y: 20, width: 50, height: 50 },
  score: 0.9,
  keypoints: [
    [25, 40],
    [45, 40],
    [35, 50],
    [35, 60],
    [10, 45],
    [60, 45],
  ],
};

describe('binary attributes: decoding', () => {
  it('the shipped contract lists the seven attributes with one threshold each', () => {
    expect(binaryLabels(shipped)).toEqual(ATTRIBUTES);
    expect(shipped.outputs.attributes.thresholds).toHaveLength(ATTRIBUTES.length);
    for (const threshold of shipped.outputs.attributes.thresholds!) {
      expect(threshold).toBeGreaterThan(0);
      expect(threshold).toBeLessThan(1);
    }
  });

  it('decides `present` with each attribute’s own threshold (at the threshold counts as present)', () => {
    const { attributes } = decodeAttributes(
      raw([0.69, 0.4, 0.39, 0.95, 0.01, 0.5, 0.123456]),
      withAttributes,
    );
    expect(Object.keys(attributes!)).toEqual(ATTRIBUTES);
    expect(attributes!.smile).toEqual({ probability: 0.69, present: false }); // below 0.7
    expect(attributes!.eyeglasses).toEqual({ probability: 0.4, present: true }); // at 0.4
    expect(attributes!.makeup.present).toBe(false);
    expect(attributes!.lipstick.present).toBe(true);
    expect(attributes!.sideburns.probability).toBe(0.1235); // rounded like the other probabilities
  });

  it('falls back to 0.5 when a contract has no thresholds', () => {
    const noThresholds = {
      outputs: { ...shipped.outputs, attributes: { kind: 'binary' as const, labels: ATTRIBUTES } },
    };
    const { attributes } = decodeAttributes(raw([0.5, 0.49, 0, 0, 0, 0, 0]), noThresholds);
    expect([attributes!.smile.present, attributes!.eyeglasses.present]).toEqual([true, false]);
  });

  it('has no attributes for a model without the output, whichever contract it runs with', () => {
    expect(decodeAttributes(raw(), withAttributes)).not.toHaveProperty('attributes');
    expect(decodeAttributes(raw(), withoutAttributes)).not.toHaveProperty('attributes');
    // A contract without the output ignores stray values.
    expect(decodeAttributes(raw([1, 1, 1, 1, 1, 1, 1]), withoutAttributes)).not.toHaveProperty('attributes');
    expect(binaryLabels(withoutAttributes)).toEqual([]);
  });

  it('the face JSON carries `attributes` only when the model has them', () => {
    const face = toFace(detection, decodeAttributes(raw([0.9, 0, 0, 0, 0, 0, 0]), withAttributes), raw());
    expect(JSON.parse(JSON.stringify(face)).attributes.smile).toEqual({ probability: 0.9, present: true });
    const old = toFace(detection, decodeAttributes(raw(), withoutAttributes), raw());
    expect(Object.keys(JSON.parse(JSON.stringify(old)))).not.toContain('attributes');
  });

  it('names the present ones briefly, in contract order', () => {
    const { attributes } = decodeAttributes(raw([0.93, 0.99, 0.1, 0.1, 0.1, 0.1, 0.5]), withAttributes);
    expect(presentAttributes(attributes)).toEqual(['smile', 'glasses', 'sideburns']);
    expect(attributeSummary(attributes!)).toBe('smile 93% · glasses 99% · sideburns 50%');
    const none = decodeAttributes(raw([0, 0, 0, 0, 0, 0, 0]), withAttributes).attributes!;
    expect(attributeSummary(none)).toBe('none');
    expect(presentAttributes(undefined)).toEqual([]);
  });
});

describe('facemtl analyze --csv: attribute columns', () => {
  const columns = ATTRIBUTES.map((name) => `${name}_probability`);
  const analysis = (outputs: RawOutputs, contract: ModelContract): FileResult => ({
    file: 'a,b.jpg',
    width: 100,
    height: 100,
    faces: [toFace(detection, decodeAttributes(outputs, contract), outputs)],
  });
  const parse = (row: string) => Object.fromEntries(row.split(',').map((value, k) => [CSV_HEADER[k], value]));

  it('one column per attribute probability, in contract order, before `error`', () => {
    const start = CSV_HEADER.indexOf('emotion_probability') + 1;
    expect(CSV_HEADER.slice(start)).toEqual([...columns, 'error']);
  });

  it('fills them from the face, and leaves them empty for a model without attributes', () => {
    const [row] = csvRows(analysis(raw([0.91, 0.02, 0.3, 0.25, 0.8, 0.6, 0.07]), withAttributes));
    // The file name with a comma is quoted: split after the first field.
    const fields = parse(row.replace('"a,b.jpg"', 'file'));
    expect(columns.map((column) => fields[column])).toEqual([
      '0.91',
      '0.02',
      '0.3',
      '0.25',
      '0.8',
      '0.6',
      '0.07',
    ]);
    expect(fields.error).toBe('');

    const [old] = csvRows(analysis(raw(), withoutAttributes));
    const oldFields = parse(old.replace('"a,b.jpg"', 'file'));
    expect(old.replace('"a,b.jpg"', 'file').split(',')).toHaveLength(CSV_HEADER.length);
    expect(columns.map((column) => oldFields[column])).toEqual(columns.map(() => ''));
    expect(oldFields.emotion).toBe('happy');
  });

  it('error and no-face rows keep the same number of columns', () => {
    for (const result of [
      { file: 'x.jpg', error: { code: 'unreadable', message: 'x.jpg: gone' } },
      { file: 'x.jpg', width: 10, height: 10, faces: [] },
    ] as FileResult[]) {
      const [row] = csvRows(result);
      expect(row.split(',')).toHaveLength(CSV_HEADER.length);
    }
  });
});

/** A stand-in FaceAnalyzer: one face per frame, its attribute outputs scripted frame by frame. */
function scriptedAnalyzer(contract: ModelContract, frames: RawOutputs[]): FaceAnalyzer {
  let next = 0;
  return {
    contract,
    detect: async () => [detection],
    crops: () => [new Float32Array(3 * 64 * 64)],
    model: { runRaw: async () => [frames[next++]] },
  } as unknown as FaceAnalyzer;
}

const frame = { data: new Uint8Array(100 * 100 * 3), width: 100, height: 100 };
const smiles = (...probabilities: number[]) => probabilities.map((p) => raw([p, 0.9, 0, 0, 0, 0, 0]));

describe('video: smoothed attributes', () => {
  it('averages the probabilities over the track and decides on the smoothed one', async () => {
    // Smiling for four frames, one frame where the smile is missed (0.1).
    const outputs = smiles(0.9, 0.9, 0.9, 0.9, 0.1);
    const video = new VideoAnalyzer(scriptedAnalyzer(withAttributes, outputs), { smoothing: 0.3 });
    const results = [];
    for (let i = 0; i < outputs.length; i++) results.push(await video.analyzeFrame(frame));
    const last = results.at(-1)!.faces[0];
    // The moving average: frame k of n weighted 0.7^(n−1−k) (equal detection scores cancel out).
    const weights = [0.7 ** 4, 0.7 ** 3, 0.7 ** 2, 0.7, 1];
    const expected =
      weights.reduce((sum, w, k) => sum + w * [0.9, 0.9, 0.9, 0.9, 0.1][k], 0) /
      weights.reduce((sum, w) => sum + w, 0);
    expect(last.attributes!.smile.probability).toBeCloseTo(expected, 4); // 0.6115
    expect(last.attributes!.smile.present).toBe(false); // below the smile threshold 0.7
    expect(last.attributes!.eyeglasses).toEqual({ probability: 0.9, present: true });
    expect(results[3].faces[0].attributes!.smile.present).toBe(true);

    const [track] = video.finish();
    // The summary is the whole-track average (alpha 0): (4·0.9 + 0.1) / 5.
    expect(track.attributes!.smile.probability).toBeCloseTo(0.74, 4);
    expect(track.attributes!.smile.present).toBe(true);
    expect(JSON.parse(JSON.stringify(results.at(-1))).faces[0].attributes.smile).toBeDefined();
  });

  it('without smoothing each frame shows its own decision', async () => {
    const outputs = smiles(0.9, 0.1);
    const video = new VideoAnalyzer(scriptedAnalyzer(withAttributes, outputs), { smoothing: 1 });
    await video.analyzeFrame(frame);
    const { faces } = await video.analyzeFrame(frame);
    expect(faces[0].attributes!.smile).toEqual({ probability: 0.1, present: false });
  });

  it('frames and summaries of a model without attributes have no `attributes` key', async () => {
    for (const contract of [withAttributes, withoutAttributes]) {
      const video = new VideoAnalyzer(scriptedAnalyzer(contract, [raw(), raw()]));
      const results = [await video.analyzeFrame(frame), await video.analyzeFrame(frame)];
      for (const result of results) expect(result.faces[0]).not.toHaveProperty('attributes');
      expect(video.finish()[0]).not.toHaveProperty('attributes');
    }
  });
});

describe('explanations: one map per attribute', () => {
  const SIZE = 64;
  /** A model whose smile probability rises with the brightness of the mouth (rows 44–55), and
   * whose eyeglasses probability rises with the darkness of the eyes (rows 14–25). */
  const model = async (crops: Float32Array[]): Promise<RawOutputs[]> =>
    crops.map((crop) => {
      const mean = (top: number) => {
        let sum = 0;
        for (let y = top; y < top + 12; y++) for (let x = 16; x < 48; x++) sum += crop[y * SIZE + x];
        return sum / (12 * 32) / 255;
      };
      return raw([mean(44), 1 - mean(14), 0.2, 0.2, 0.2, 0.2, 0.2]);
    });
  const crop = () => {
    const image = new Float32Array(3 * SIZE * SIZE).fill(255);
    for (let c = 0; c < 3; c++)
      for (let y = 14; y < 26; y++)
        image.fill(0, c * SIZE * SIZE + y * SIZE, c * SIZE * SIZE + (y + 1) * SIZE);
    return image;
  };

  it('names the maps by attribute and explains each decision where the model looks', async () => {
    const maps = await occlusionMaps(crop(), SIZE, model, withAttributes, { patch: 8, stride: 4 });
    expect(Object.keys(maps)).toEqual(['age', 'gender', 'ethnicity', 'emotion', ...ATTRIBUTES]);
    expect(maps.smile).toMatchObject({ label: 'yes', score: 1 });
    expect(maps.eyeglasses).toMatchObject({ label: 'yes', score: 1 });
    expect(maps.beard).toMatchObject({ label: 'no', score: 0.8, max: 0 }); // a constant head ignores everything

    const smile = regionShares(maps.smile, SIZE);
    expect(smile.mouth_chin).toBeGreaterThan(0.9);
    expect(smile.eyes_brows).toBe(0);
    const glasses = regionShares(maps.eyeglasses, SIZE);
    expect(glasses.eyes_brows).toBeGreaterThan(0.9);
    expect(glasses.mouth_chin).toBe(0);
    expect(regionShares(maps.beard, SIZE)).toEqual({ eyes_brows: 0, nose_cheeks: 0, mouth_chin: 0 });
  });

  it('explains a "no" by what would make it a "yes" when hidden', async () => {
    // A dark mouth: smile "no"; hiding it with grey raises the smile probability, i.e. the dark
    // mouth supported "no" — a positive value in the map.
    const dark = crop();
    for (let c = 0; c < 3; c++)
      for (let y = 44; y < 56; y++)
        dark.fill(0, c * SIZE * SIZE + y * SIZE, c * SIZE * SIZE + (y + 1) * SIZE);
    const maps = await occlusionMaps(dark, SIZE, model, withAttributes, { patch: 8, stride: 4 });
    expect(maps.smile.label).toBe('no');
    expect(maps.smile.max).toBeGreaterThan(0);
    expect(regionShares(maps.smile, SIZE).mouth_chin).toBeGreaterThan(0.9);
  });

  it('an older model gets the four heads only', async () => {
    const maps = await occlusionMaps(crop(), SIZE, async (crops) => crops.map(() => raw()), withAttributes, {
      patch: 16,
      stride: 16,
    });
    expect(Object.keys(maps)).toEqual(['age', 'gender', 'ethnicity', 'emotion']);
  });
});
