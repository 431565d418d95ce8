/**
 * Attribute smoothing over a track, so that labels stop flickering from frame to frame. Works on
 * the model's raw outputs, by the kinds in the contract:
 * - `probabilities` and `binary` (one sigmoid probability per attribute): exponential moving
 *   average, each frame weighted by its confidence (the detection score);
 * - `gaussian` (age `[mean, std]`): the same average of the mean, each frame weighted by its
 *   confidence × precision 1/std², so a confident estimate counts more.
 * `alpha` 0 forgets nothing: the same code gives the whole-track average of a track summary.
 * Pure code (no Node imports); decode the result with `decodeAttributes`.
 */
import type { ModelContract } from '../attributes/contract.js';
import type { RawOutputs } from '../attributes/decode.js';

export interface SmoothingOptions {
  /**
   * Weight of the newest frame, 0–1 (default 0.3): the average forgets by a factor `1 − alpha` per
   * observation. 1 = no smoothing (latest frame only); 0 = the average of all frames.
   */
  alpha?: number;
}

export const DEFAULT_SMOOTHING: Readonly<Required<SmoothingOptions>> = { alpha: 0.3 };

/** The smallest std an age estimate is trusted with, so one frame cannot take all the weight. */
const MIN_AGE_STD = 0.5;

/** A running weighted average of one track's raw model outputs. */
export class OutputAverage {
  private readonly keep: number;
  private weights = 0;
  private readonly sums: Record<string, number[]> = {};
  /** For gaussian outputs: sum of weight/std² and of weight/std² × mean. */
  private readonly precision: Record<string, { total: number; weighted: number }> = {};
  private count = 0;

  constructor(
    private readonly outputs: ModelContract['outputs'],
    alpha: number = DEFAULT_SMOOTHING.alpha,
  ) {
    if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`smoothing alpha must be in 0–1, not ${alpha}`);
    this.keep = 1 - alpha;
  }

  /** Frames averaged so far. */
  get observations(): number {
    return this.count;
  }

  /** Adds one frame's outputs; `confidence` (0–1, e.g. the detection score) weights them. */
  add(raw: RawOutputs, confidence = 1): void {
    const weight = Math.max(confidence, 1e-3);
    this.weights = this.weights * this.keep + weight;
    for (const [name, values] of Object.entries(raw)) {
      if (this.outputs[name]?.kind === 'gaussian') {
        const [mean, std] = values;
        const precision = weight / Math.max(std, MIN_AGE_STD) ** 2;
        const state = (this.precision[name] ??= { total: 0, weighted: 0 });
        state.total = state.total * this.keep + precision;
        state.weighted = state.weighted * this.keep + precision * mean;
      } else {
        const sums = (this.sums[name] ??= new Array<number>(values.length).fill(0));
        values.forEach((value, k) => (sums[k] = sums[k] * this.keep + weight * value));
      }
    }
    this.count += 1;
  }

  /** The averaged outputs (same names and sizes as the input); undefined before the first `add`. */
  value(): RawOutputs | undefined {
    if (this.count === 0) return undefined;
    const result: RawOutputs = {};
    for (const [name, sums] of Object.entries(this.sums))
      result[name] = sums.map((sum) => sum / this.weights);
    for (const [name, { total, weighted }] of Object.entries(this.precision)) {
      // The std of one typical frame (1/√ mean precision), not the much smaller std of a mean of
      // independent frames: consecutive frames of a face are far from independent.
      result[name] = [weighted / total, Math.sqrt(this.weights / total)];
    }
    return result;
  }
}
