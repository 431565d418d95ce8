/**
 * `FaceAnalyzer`: the whole runtime in one object. Image → faces (BlazeFace) → aligned crops →
 * attributes (one batched run of the multi-task model) → plain JSON.
 *
 *   const analyzer = await FaceAnalyzer.create();
 *   const { faces } = await analyzer.analyze('photo.jpg');
 *   await analyzer.dispose();
 */
import { availableParallelism } from 'node:os';
import pLimit, { type LimitFunction } from 'p-limit';
import type { ModelContract } from '../attributes/contract.js';
import {
  decodeAttributes,
  type FaceAttributes,
  type BinaryAttributes,
  type LabelEstimate,
  type RawOutputs,
} from '../attributes/decode.js';
import { AttributeModel, type AttributeModelOptions } from '../attributes/model.js';
import type { Box, Detection, LandmarkName } from '../detect/blazeface.js';
import { FaceDetector, type DetectorOptions } from '../detect/detector.js';
import { loadImage, rgbPixels, type LoadImageOptions } from '../image/load.js';
import type { ImageInput, RawImage, RgbImage } from '../image/types.js';
import { alignedCrops, toFace } from './face.js';

export interface FaceAnalyzerOptions extends DetectorOptions, AttributeModelOptions, LoadImageOptions {
  /**
   * At most this many `analyze`/`analyzeFrame` calls run at once (default: the number of cores);
   * the others wait their turn, so many parallel calls cannot exhaust memory with decoded images.
   */
  maxConcurrency?: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface Face {
  /** Face box in the pixels of the upright image (EXIF orientation applied). */
  box: Box;
  /** Detection score, 0–1. */
  score: number;
  /** BlazeFace's 6 keypoints; right/left are the subject's (the right eye is on the image's left). */
  landmarks: Record<LandmarkName, Point>;
  age: { years: number; low: number; high: number; std: number };
  gender: { label: string; probability: number };
  ethnicity: LabelEstimate;
  emotion: LabelEstimate;
  /**
   * Yes/no attributes by name (smile, eyeglasses, makeup, lipstick, beard, moustache,
   * sideburns), each `{ probability, present }`; absent when the model has no such output.
   */
  attributes?: BinaryAttributes;
  /**
   * The model's raw outputs (output name → values). Not enumerable: left out of JSON, there for
   * evaluation and debugging.
   */
  readonly raw?: RawOutputs;
}

export interface Analysis {
  /** Size of the upright image. */
  width: number;
  height: number;
  faces: Face[];
}

export class FaceAnalyzer {
  /** Bounds the calls in progress (decoded images in memory): see `maxConcurrency`. */
  private readonly limit: LimitFunction;
  private disposed: Promise<void> | null = null;

  private constructor(
    readonly detector: FaceDetector,
    readonly model: AttributeModel,
    private readonly loadOptions: LoadImageOptions,
    maxConcurrency: number,
  ) {
    this.limit = pLimit(maxConcurrency);
  }

  static async create(options: FaceAnalyzerOptions = {}): Promise<FaceAnalyzer> {
    const { maxConcurrency = availableParallelism(), maxPixels, maxBytes, timeoutSeconds, formats } = options;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1)
      throw new RangeError(`maxConcurrency must be a positive integer, not ${maxConcurrency}`);
    const model = await AttributeModel.create(options);
    try {
      const detector = await FaceDetector.create(options);
      return new FaceAnalyzer(
        detector,
        model,
        { maxPixels, maxBytes, timeoutSeconds, formats },
        maxConcurrency,
      );
    } catch (error) {
      await model.dispose();
      throw error;
    }
  }

  get contract(): ModelContract {
    return this.model.contract;
  }

  get modelPath(): string {
    return this.model.modelPath;
  }

  /** Calls waiting for their turn (beyond `maxConcurrency`). */
  get pending(): number {
    return this.limit.pendingCount;
  }

  /**
   * Faces and their attributes in an image file, encoded bytes or raw pixels. `options` override
   * the loader limits given to `create`.
   */
  analyze(input: ImageInput, options: LoadImageOptions = {}): Promise<Analysis> {
    if (this.disposed) return Promise.reject(disposedError());
    return this.limit(async () => {
      const image = await loadImage(input, { ...this.loadOptions, ...definedOnly(options) });
      return this.analyzeImage(image);
    });
  }

  /**
   * Like `analyze`, for pixels already decoded (e.g. video frames): RGB `{data, width, height}`
   * or `{data, width, height, channels: 3 | 4}`. Throws `ImageError` when the data does not
   * match the size and channels.
   */
  analyzeFrame(image: RgbImage | RawImage): Promise<Analysis> {
    if (this.disposed) return Promise.reject(disposedError());
    return this.limit(() => this.analyzeImage(rgbPixels(image, this.loadOptions.maxPixels)));
  }

  private async analyzeImage(image: RgbImage): Promise<Analysis> {
    const detections = await this.detector.detect(image);
    const attributes = await this.runModel(image, detections);
    const faces = detections.map((detection, index) =>
      toFace(detection, attributes[index].attributes, attributes[index].raw),
    );
    return { width: image.width, height: image.height, faces };
  }

  /** Only the detector: faces in image pixels, best score first. */
  detect(image: RgbImage): Promise<Detection[]> {
    this.checkOpen();
    return this.detector.detect(image);
  }

  /** Only the attribute model, for faces found by `detect` (one batch for all of them). */
  async attributes(image: RgbImage, detections: Detection[]): Promise<FaceAttributes[]> {
    this.checkOpen();
    const raw = await this.runModel(image, detections);
    return raw.map((outputs) => outputs.attributes);
  }

  /** Aligned model input crops (CHW RGB 0–255) for detections. */
  crops(image: RgbImage, detections: Detection[]): Float32Array[] {
    return alignedCrops(image, detections, this.contract);
  }

  private async runModel(image: RgbImage, detections: Detection[]): Promise<ModelResult[]> {
    const raw = await this.model.runRaw(this.crops(image, detections));
    return raw.map((outputs) => ({ attributes: decodeAttributes(outputs, this.contract), raw: outputs }));
  }

  private checkOpen(): void {
    if (this.disposed) throw disposedError();
  }

  /** Releases the models once calls in progress have finished. Safe to call more than once. */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      // Calls made before dispose (running or waiting for their turn) finish first.
      while (this.limit.activeCount + this.limit.pendingCount > 0)
        await new Promise((resolve) => setTimeout(resolve, 5));
      await this.detector.dispose();
      await this.model.dispose();
    })();
    return this.disposed;
  }
}

const disposedError = () => new Error('this FaceAnalyzer has been disposed');

/** `options` without its undefined values, so that they do not override defaults when spread. */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

interface ModelResult {
  attributes: FaceAttributes;
  raw: RawOutputs;
}
