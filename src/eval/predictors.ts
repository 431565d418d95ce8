/**
 * The two ways `facemtl eval` gets the model's outputs for dataset images, both built on the
 * runtime: as dataset crops (`datasetCrop` with the layout's geometry → `AttributeModel`), or,
 * with `--detect`, through the full `FaceAnalyzer` pipeline (detect → align → model).
 */
import type { ModelContract } from '../attributes/contract.js';
import { datasetCrop } from '../attributes/crop.js';
import { AttributeModel } from '../attributes/model.js';
import { loadImage, type RgbImage } from '../image/load.js';
import type { DetectorChoice } from '../detect/detector.js';
import { FaceAnalyzer, type Face } from '../pipeline/index.js';
import type { Prediction, Predictor } from './evaluate.js';
import type { DatasetGeometry, EvalSample } from './layouts/index.js';

export interface EvalPredictor extends Predictor {
  /** The model file in use. */
  modelPath: string;
  /** Output labels by output name, from the model contract. */
  outputLabels: Record<string, readonly string[]>;
  /** Decision thresholds of the yes/no attributes, by name, from the model contract. */
  thresholds: Record<string, number>;
  dispose(): Promise<void>;
}

export interface PredictorOptions {
  modelPath?: string;
  precision: 'int8' | 'fp32';
  threads?: number;
  /** Average each crop's outputs with its mirror's (`AttributeModelOptions.flipAverage`). */
  flip: boolean;
  detect: boolean;
  /** With `detect`: the detector `FaceAnalyzer` runs. */
  detector: DetectorChoice;
  geometry: DatasetGeometry;
}

const UNREADABLE = 'unreadable image';

/** Decodes every sample; an image that cannot be decoded becomes null (and is skipped). */
async function decodeAll(samples: EvalSample[]): Promise<(RgbImage | null)[]> {
  return Promise.all(
    samples.map(async (sample) => {
      try {
        return await loadImage(sample.bytes);
      } catch {
        return null;
      }
    }),
  );
}

export async function createPredictor(options: PredictorOptions): Promise<EvalPredictor> {
  return options.detect ? detectPredictor(options) : cropPredictor(options);
}

async function cropPredictor(options: PredictorOptions): Promise<EvalPredictor> {
  const model = await AttributeModel.create({
    modelPath: options.modelPath,
    precision: options.precision,
    threads: options.threads,
    flipAverage: options.flip,
  });
  const contract = model.contract;
  return {
    modelPath: model.modelPath,
    outputLabels: outputLabelsOf(contract),
    thresholds: thresholdsOf(contract),
    async predict(samples) {
      const images = await decodeAll(samples);
      const crops = images.flatMap((image) =>
        image ? [datasetCrop(image, options.geometry, contract)] : [],
      );
      const outputs = crops.length ? await model.runRaw(crops) : [];
      let next = 0;
      return images.map((image): Prediction => (image ? { outputs: outputs[next++] } : { skip: UNREADABLE }));
    },
    dispose: () => model.dispose(),
  };
}

async function detectPredictor(options: PredictorOptions): Promise<EvalPredictor> {
  const analyzer = await FaceAnalyzer.create({
    modelPath: options.modelPath,
    precision: options.precision,
    threads: options.threads,
    flipAverage: options.flip,
    detector: options.detector,
  });
  return {
    modelPath: analyzer.modelPath,
    outputLabels: outputLabelsOf(analyzer.contract),
    thresholds: thresholdsOf(analyzer.contract),
    async predict(samples) {
      const predictions: Prediction[] = [];
      for (const image of await decodeAll(samples)) {
        if (!image) {
          predictions.push({ skip: UNREADABLE });
          continue;
        }
        // several faces: score the largest (the dataset's subject)
        const { faces } = await analyzer.analyzeFrame(image);
        const area = (face: Face) => face.box.width * face.box.height;
        const largest = faces.reduce<Face | null>(
          (best, face) => (!best || area(face) > area(best) ? face : best),
          null,
        );
        predictions.push(largest?.raw ? { outputs: largest.raw } : { notDetected: true });
      }
      return predictions;
    },
    dispose: () => analyzer.dispose(),
  };
}

function outputLabelsOf(contract: Pick<ModelContract, 'outputs'>) {
  return Object.fromEntries(Object.entries(contract.outputs).map(([name, output]) => [name, output.labels]));
}

function thresholdsOf(contract: Pick<ModelContract, 'outputs'>): Record<string, number> {
  const attributes = contract.outputs.attributes;
  if (attributes?.kind !== 'binary') return {};
  return Object.fromEntries(attributes.labels.map((label, i) => [label, attributes.thresholds?.[i] ?? 0.5]));
}
