/**
 * What a dataset layout reader yields: encoded image bytes with the labels the dataset gives.
 * Class labels are the dataset's class names (matched to the model's labels by `classMatcher`).
 */

import type { DatasetName } from '../../attributes/contract.js';

/** The yes/no attributes (the model's `attributes` output, CelebA's labels). */
export const ATTRIBUTE_TASKS = [
  'smile',
  'eyeglasses',
  'makeup',
  'lipstick',
  'beard',
  'moustache',
  'sideburns',
] as const;
export type AttributeTask = (typeof ATTRIBUTE_TASKS)[number];

export function isAttributeTask(task: string): task is AttributeTask {
  return (ATTRIBUTE_TASKS as readonly string[]).includes(task);
}

/** The tasks `facemtl eval` scores; the keys of the `--json` report. */
export type EvalTask =
  'age' | 'gender' | 'ethnicity' | 'emotion' | 'emotion_ferplus' | 'emotion_fer2013' | AttributeTask;

export interface EvalSample {
  /** File name (or row name) of the sample, for messages. */
  name: string;
  /** The encoded image (JPEG, PNG, …). */
  bytes: Buffer;
  /** Class names; `age` in years; a yes/no attribute as a boolean. */
  labels: Partial<Record<EvalTask, string | number | boolean>> & { age?: number };
}

/** The dataset crop geometry (`datasetEyes` of the contract) a layout's images follow. */
export type DatasetGeometry = DatasetName;

export interface DatasetReader {
  /** Tasks this layout labels (in report order). */
  tasks: EvalTask[];
  geometry: DatasetGeometry;
  /** The samples in reading order; files that cannot be used are reported to `skipped` instead. */
  samples(skipped: SkipCounter): AsyncIterable<EvalSample>;
}

/** Samples left out, counted per reason, with the first few names of each for the report. */
export class SkipCounter {
  static readonly EXAMPLES = 5;
  readonly counts: Record<string, number> = {};
  readonly examples: Record<string, string[]> = {};

  add(reason: string, name: string): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
    const examples = (this.examples[reason] ??= []);
    if (examples.length < SkipCounter.EXAMPLES) examples.push(name);
  }

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}
