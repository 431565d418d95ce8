/**
 * `evaluateDataset`: score a facemtl model on a labelled dataset layout (the library side of
 * `facemtl eval`; see docs/eval.md for layouts, metrics and the JSON schema).
 */
import { basename } from 'node:path';
import type { DetectorChoice } from '../detect/detector.js';
import { evaluate } from './evaluate.js';
import { openLayout, type LayoutOptions } from './layouts/index.js';
import { createPredictor } from './predictors.js';
import type { EvalReport } from './report.js';

export { LAYOUTS, type Layout } from './layouts/index.js';
export type { EvalReport } from './report.js';

/** How dataset images are turned into model crops: a dataset's framing, or the detector. */
export const FRAMINGS = ['utkface', 'fer', 'celeba', 'fairface', 'detect'] as const;
export type Framing = (typeof FRAMINGS)[number];

/** What to score and how; the layout's own options (`labels`, `usage`, `task`, `only`) are `LayoutOptions`. */
export interface EvaluateDatasetOptions extends LayoutOptions {
  /** `utkface`, `ferplus`, `fer2013-csv`, `folders`, `celeba` or `fairface`. */
  layout: string;
  /** The dataset folder, archive or CSV file. */
  path: string;
  /** ONNX model file; default: the shipped model of `precision`. */
  modelPath?: string;
  /** Which shipped model (default `int8`); with `modelPath` only the report's label (default: from the file name). */
  precision?: 'int8' | 'fp32';
  /** Find faces with the detector (full pipeline) instead of treating images as crops. */
  detect?: boolean;
  /** With `detect`: which detector (`FaceAnalyzer`'s option; default `auto`). Implies `detect`. */
  detector?: DetectorChoice;
  /** Run each crop mirrored too and average the outputs (`flipAverage`, default false). */
  flip?: boolean;
  /**
   * How images become crops: the eye geometry of a dataset's published crops (`datasetEyes`),
   * or `detect` (same as `detect: true`) for photos of any framing. Default: the layout's own
   * (`folders`: `utkface`).
   */
  framing?: Framing;
  /** Stop after this many scored samples. */
  limit?: number;
  /** Faces per model run (default 32). */
  batch?: number;
  /** ONNX Runtime threads (default: all cores). */
  threads?: number;
  onProgress?: (done: number, skipped: number) => void;
}

export async function evaluateDataset(options: EvaluateDatasetOptions): Promise<EvalReport> {
  const started = performance.now();
  const precision = options.precision ?? precisionInName(options.modelPath) ?? 'int8';
  if (options.framing && !(FRAMINGS as readonly string[]).includes(options.framing)) {
    throw new Error(`framing must be one of ${FRAMINGS.join(', ')}, not "${options.framing}"`);
  }
  const detect = Boolean(options.detect) || options.framing === 'detect' || options.detector !== undefined;
  const detector = options.detector ?? 'auto';
  const flip = Boolean(options.flip);
  const reader = await openLayout(options.layout, options.path, options);
  const framing = options.framing && options.framing !== 'detect' ? options.framing : reader.geometry;
  const predictor = await createPredictor({
    modelPath: options.modelPath,
    precision,
    threads: options.threads,
    flip,
    detect,
    detector,
    geometry: framing,
  });
  try {
    const scores = await evaluate(reader, predictor, {
      outputLabels: predictor.outputLabels,
      thresholds: predictor.thresholds,
      limit: options.limit,
      batch: options.batch,
      onProgress: options.onProgress,
    });
    const { n, skipped, skipped_reasons, skipped_examples, not_detected, ...metrics } = scores;
    if (n + skipped === 0) {
      const hint = options.usage ? ` with Usage "${options.usage}"` : '';
      throw new Error(`${options.path}: no ${options.layout} samples found${hint}`);
    }
    return {
      layout: options.layout,
      path: options.path,
      model: predictor.modelPath,
      precision,
      detect,
      framing: detect ? 'detect' : framing,
      // The detector only where one ran: crop-mode reports keep their keys.
      ...(detect ? { detector } : {}),
      flip,
      n,
      skipped,
      skipped_reasons,
      skipped_examples,
      not_detected,
      elapsed_s: Math.round((performance.now() - started) / 100) / 10,
      ...metrics,
    };
  } finally {
    await predictor.dispose();
  }
}

/** `fp32` or `int8` when a model file's name says so (`facemtl-fp32.onnx`, `single-age-int8.onnx`). */
function precisionInName(path: string | undefined): 'int8' | 'fp32' | undefined {
  const match = path && /(?:^|[^a-z0-9])(fp32|int8)(?:[^a-z0-9]|$)/i.exec(basename(path));
  return match ? (match[1].toLowerCase() as 'int8' | 'fp32') : undefined;
}
