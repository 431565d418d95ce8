/**
 * `FaceAnalyzer`: the whole runtime in one object. Image → faces (BlazeFace) → aligned crops →
 * attributes (one batched run of the multi-task model) → plain JSON.
 *
 *   const analyzer = await FaceAnalyzer.create();
 *   const { faces } = await analyzer.analyze('photo.jpg');
 *   await analyzer.dispose();
 */
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
import { loadImage, type LoadImageOptions } from '../image/load.js';
import type { ImageInput, RgbImage } from '../image/types.js';
import { alignedCrops, toFace } from './face.js';

export interface FaceAnalyzerOptions extends DetectorOptions, AttributeModelOptions, LoadImageOptions {}

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
  private constructor(
    readonly detector: FaceDetector,
    readonly model: AttributeModel,
    private readonly maxPixels: number | undefined,
  ) {}

  static async create(options: FaceAnalyzerOptions = {}): Promise<FaceAnalyzer> {
    const model = await AttributeModel.create(options);
    try {
      const detector = await FaceDetector.create(options);
      return new FaceAnalyzer(detector, model, options.maxPixels);
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

  /** Faces and their attributes in an image file, encoded bytes or raw pixels. */
  async analyze(input: ImageInput, options: LoadImageOptions = {}): Promise<Analysis> {
    const image = await loadImage(input, { maxPixels: options.maxPixels ?? this.maxPixels });
    return this.analyzeFrame(image);
  }

  /** Like `analyze`, for pixels already decoded (e.g. video frames). */
  async analyzeFrame(image: RgbImage): Promise<Analysis> {
    const detections = await this.detect(image);
    const attributes = await this.runModel(image, detections);
    const faces = detections.map((detection, index) =>
      toFace(detection, attributes[index].attributes, attributes[index].raw),
    );
    return { width: image.width, height: image.height, faces };
  }

  /** Only the detector: faces in image pixels, best score first. */
  detect(image: RgbImage): Promise<Detection[]> {
    return this.detector.detect(image);
  }

  /** Only the attribute model, for faces found by `detect` (one batch for all of them). */
  async attributes(image: RgbImage, detections: Detection[]): Promise<FaceAttributes[]> {
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

  async dispose(): Promise<void> {
    await this.detector.dispose();
    await this.model.dispose();
  }
}

interface ModelResult {
  attributes: FaceAttributes;
  raw: RawOutputs;
}
