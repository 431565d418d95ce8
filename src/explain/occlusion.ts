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
  /** What the map explains: the predicted label, or `years` for the age head. */
  label: string;
  /**
   * Per crop pixel (row by row, size × size): the mean drop of the head's score when a square
   * covering the pixel is hidden — in probability for label heads (of the predicted label), in
   * years of |change| for age. Positive = the pixel supports the prediction.
   */
  map: Float32Array;
  /** The head's score on the whole crop (probability of `label`, or the age in years). */
  score: number;
  /** The largest value of `map`. */
  max: number;
}

/** One map per head of the contract (except the secondary `emotion_fer2013`). */
export type FaceExplanation = Record<string, HeadMap>;

/** The heads the runtime reports, in contract order. */
export const EXPLAINED_HEADS = (contract: Pick<ModelContract, 'outputs'>): string[] =>
  Object.keys(contract.outputs).filter((name) => name !== 'emotion_fer2013');

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
  const heads = EXPLAINED_HEADS(contract).filter((name) => baseline[name]);
  const targets = heads.map((name) => target(name, baseline[name], contract));

  const sums = heads.map(() => new Float64Array(size * size));
  const coverage = new Uint16Array(size * size);
  for (const [x, y] of positions) addSquare(coverage, size, x, y, patch, 1);
  for (let start = 0; start < positions.length; start += batchSize) {
    const chunk = positions.slice(start, start + batchSize);
    const outputs = await runModel(chunk.map(([x, y]) => occlude(crop, size, x, y, patch, fill)));
    outputs.forEach((raw, k) => {
      const [x, y] = chunk[k];
      heads.forEach((name, h) => {
        const drop = targets[h].drop(raw[name]);
        addSquare(sums[h], size, x, y, patch, drop);
      });
    });
  }

  const explanation: FaceExplanation = {};
  heads.forEach((name, h) => {
    const map = new Float32Array(size * size);
    let max = -Infinity;
    for (let p = 0; p < map.length; p++) {
      map[p] = coverage[p] ? sums[h][p] / coverage[p] : 0;
      max = Math.max(max, map[p]);
    }
    explanation[name] = { label: targets[h].label, map, score: targets[h].score, max };
  });
  return explanation;
}

/** How a head's output is scored against the un-occluded crop. */
function target(name: string, values: number[], contract: Pick<ModelContract, 'outputs'>) {
  if (contract.outputs[name].kind === 'gaussian') {
    const years = values[0];
    return { label: 'years', score: years, drop: (occluded: number[]) => Math.abs(occluded[0] - years) };
  }
  let best = 0;
  values.forEach((value, k) => (best = value > values[best] ? k : best));
  const probability = values[best];
  return {
    label: contract.outputs[name].labels[best],
    score: probability,
    drop: (occluded: number[]) => probability - occluded[best],
  };
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
