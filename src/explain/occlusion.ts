/**
 * Occlusion sensitivity (Zeiler & Fergus 2014): which parts of a face crop each head relies on.
 * ONNX Runtime has no gradients, so instead of Grad-CAM (training/facemtl/explain.py) a grey square
 * is slid over the crop and every head's output is measured with each part hidden; a region where
 * hiding lowers the head's score matters for its prediction.
 *
 * All occluded copies of a crop go through the model in a few large batches.
 */
import type { ModelContract } from '../attributes/contract.js';
import type { RawOutputs } from '../attributes/decode.js';

export interface OcclusionOptions {
  /** Side of the grey square, in crop pixels (default 16 of 64). */
  patch?: number;
  /** Step between square positions, in crop pixels (default 2). */
  stride?: number;
  /** Value the square is filled with, 0–255 (default 128, mid grey). */
  fill?: number;
  /** Crops per model call (default 128). */
  batchSize?: number;
}

export const DEFAULT_OCCLUSION: Readonly<Required<OcclusionOptions>> = {
  patch: 16,
  stride: 2,
  fill: 128,
  batchSize: 128,
};

/** Runs the model on crops (CHW, 0–255): `AttributeModel.runRaw` or a stand-in in tests. */
export type RawModel = (crops: Float32Array[]) => Promise<RawOutputs[]>;

export interface HeadMap {
  /**
   * What the map explains: the predicted label, `years` for the age head, and for a yes/no
   * attribute its decision at the contract's threshold: `yes` or `no`.
   */
  label: string;
  /**
   * Per crop pixel (row by row, size × size): the mean drop of the head's score when a square
   * covering the pixel is hidden — in probability for label heads (of the predicted label) and
   * attributes (of the decision: P(yes) or P(no)), in years of |change| for age. Positive = the
   * pixel supports the prediction.
   */
  map: Float32Array;
  /** The head's score on the whole crop (probability of `label`, or the age in years). */
  score: number;
  /** The largest value of `map`. */
  max: number;
}

/**
 * One map per head of the contract (except the secondary `emotion_fer2013`), and one per yes/no
 * attribute of a `binary` output, by the attribute's name (`smile`, `eyeglasses`, …).
 */
export type FaceExplanation = Record<string, HeadMap>;

/** The outputs the runtime reports, in contract order. */
export const EXPLAINED_HEADS = (contract: Pick<ModelContract, 'outputs'>): string[] =>
  Object.keys(contract.outputs).filter((name) => name !== 'emotion_fer2013');

/** What one map explains and how an occluded crop's outputs are scored against the whole crop. */
interface Target {
  /** The map's name: the output's, or the attribute's for a binary output. */
  name: string;
  label: string;
  score: number;
  drop: (occluded: RawOutputs) => number;
}

export async function occlusionMaps(
  crop: Float32Array,
  size: number,
  runModel: RawModel,
  contract: Pick<ModelContract, 'outputs'>,
  options: OcclusionOptions = {},
): Promise<FaceExplanation> {
  const { patch, stride, fill, batchSize } = { ...DEFAULT_OCCLUSION, ...definedOnly(options) };
  if (crop.length !== 3 * size * size)
    throw new RangeError(`crop has ${crop.length} values, expected ${3 * size * size}`);
  if (!(patch >= 1 && patch <= size && stride >= 1))
    throw new RangeError(`bad patch ${patch} / stride ${stride}`);
  const positions = squarePositions(size, patch, stride);

  const [baseline] = await runModel([crop]);
  const targets = EXPLAINED_HEADS(contract)
    .filter((name) => baseline[name])
    .flatMap((name) => headTargets(name, baseline[name], contract));

  const sums = targets.map(() => new Float64Array(size * size));
  const coverage = new Uint16Array(size * size);
  for (const [x, y] of positions) addSquare(coverage, size, x, y, patch, 1);
  for (let start = 0; start < positions.length; start += batchSize) {
    const chunk = positions.slice(start, start + batchSize);
    const outputs = await runModel(chunk.map(([x, y]) => occlude(crop, size, x, y, patch, fill)));
    outputs.forEach((raw, k) => {
      const [x, y] = chunk[k];
      targets.forEach((target, t) => addSquare(sums[t], size, x, y, patch, target.drop(raw)));
    });
  }

  const explanation: FaceExplanation = {};
  targets.forEach((target, t) => {
    const map = new Float32Array(size * size);
    let max = -Infinity;
    for (let p = 0; p < map.length; p++) {
      map[p] = coverage[p] ? sums[t][p] / coverage[p] : 0;
      max = Math.max(max, map[p]);
    }
    explanation[target.name] = { label: target.label, map, score: target.score, max };
  });
  return explanation;
}

/** The maps of one output: one for a head, one per attribute of a binary output. */
function headTargets(name: string, values: number[], contract: Pick<ModelContract, 'outputs'>): Target[] {
  const output = contract.outputs[name];
  if (output.kind === 'gaussian') {
    const years = values[0];
    return [{ name, label: 'years', score: years, drop: (raw) => Math.abs(raw[name][0] - years) }];
  }
  if (output.kind === 'binary') {
    // Each attribute is its own decision: the map shows what supports it, yes or no.
    return output.labels.map((label, k) => {
      const present = values[k] >= (output.thresholds?.[k] ?? 0.5);
      const sign = present ? 1 : -1;
      return {
        name: label,
        label: present ? 'yes' : 'no',
        score: present ? values[k] : 1 - values[k],
        drop: (raw) => sign * (values[k] - raw[name][k]),
      };
    });
  }
  let best = 0;
  values.forEach((value, k) => (best = value > values[best] ? k : best));
  const probability = values[best];
  return [
    { name, label: output.labels[best], score: probability, drop: (raw) => probability - raw[name][best] },
  ];
}

/**
 * Horizontal bands of the aligned crop (eyes at 0.30 of its height), as fractions of the height:
 * the same bands as the Grad-CAM report of training/facemtl/explain.py.
 */
export const FACE_REGIONS = {
  eyes_brows: [0.12, 0.44],
  nose_cheeks: [0.44, 0.62],
  mouth_chin: [0.62, 0.94],
} as const satisfies Record<string, readonly [number, number]>;

export type FaceRegion = keyof typeof FACE_REGIONS;

/**
 * The share of a map's positive weight (what supports the prediction) in each band of
 * `FACE_REGIONS`; the rest lies outside them. All 0 for a map with no positive weight.
 */
export function regionShares(head: HeadMap, size: number): Record<FaceRegion, number> {
  const rows = new Float64Array(size);
  for (let p = 0; p < head.map.length; p++) rows[Math.floor(p / size)] += Math.max(0, head.map[p]);
  const total = rows.reduce((sum, value) => sum + value, 0) || 1;
  const share = ([from, to]: readonly [number, number]) =>
    rows.slice(Math.floor(from * size), Math.floor(to * size)).reduce((sum, value) => sum + value, 0) / total;
  return Object.fromEntries(
    Object.entries(FACE_REGIONS).map(([name, band]) => [name, share(band)]),
  ) as Record<FaceRegion, number>;
}

/** Top-left corners of the squares: a regular grid that also touches the right and bottom edges. */
export function squarePositions(size: number, patch: number, stride: number): [number, number][] {
  const starts: number[] = [];
  for (let s = 0; s + patch < size; s += stride) starts.push(s);
  starts.push(size - patch);
  return starts.flatMap((y) => starts.map((x): [number, number] => [x, y]));
}

/** A copy of the CHW crop with a `patch`-square at (x, y) set to `fill` in all channels. */
function occlude(
  crop: Float32Array,
  size: number,
  x: number,
  y: number,
  patch: number,
  fill: number,
): Float32Array {
  const copy = crop.slice();
  for (let c = 0; c < 3; c++) {
    for (let row = y; row < y + patch; row++)
      copy.fill(fill, c * size * size + row * size + x, c * size * size + row * size + x + patch);
  }
  return copy;
}

function addSquare(
  target: Float64Array | Uint16Array,
  size: number,
  x: number,
  y: number,
  patch: number,
  value: number,
) {
  for (let row = y; row < y + patch; row++) {
    for (let col = x; col < x + patch; col++) target[row * size + col] += value;
  }
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
