/**
 * `AttributeModel`: the multi-task CNN (age, gender, ethnicity, emotion) on onnxruntime-node.
 * Takes aligned crops (see crop.ts) and runs them all as one batch.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadContract, MODELS_DIR, type ModelContract } from './contract.js';
import {
  averageFlipped,
  decodeAttributes,
  splitBatch,
  type FaceAttributes,
  type RawOutputs,
} from './decode.js';

export type Precision = 'int8' | 'fp32';

export interface AttributeModelOptions {
  /** An ONNX file following the contract (default: the shipped model of `precision`). */
  modelPath?: string;
  /** Which shipped model (default `int8`); ignored when `modelPath` is given. */
  precision?: Precision;
  /** ONNX Runtime intra-op threads (default: ONNX Runtime's choice, all cores). */
  threads?: number;
  /**
   * Also run every crop mirrored left–right and average the two outputs (default false): the model
   * was trained on randomly flipped crops, so the mirror is a second, equally valid view of the face
   * that evens out some of the noise of one run, at the cost of a batch twice as large.
   */
  flipAverage?: boolean;
}

export class AttributeModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly contract: ModelContract,
    readonly modelPath: string,
    /** Whether each crop is also run mirrored and the outputs averaged (`flipAverage`). */
    readonly flipAverage: boolean,
  ) {}

  static async create(options: AttributeModelOptions = {}): Promise<AttributeModel> {
    const precision = options.precision ?? 'int8';
    if (precision !== 'int8' && precision !== 'fp32')
      throw new Error(`precision must be int8 or fp32, not "${precision}"`);
    // A model elsewhere may bring its own contract next to it; else the package's applies.
    const ownContract = options.modelPath && join(dirname(options.modelPath), 'facemtl.json');
    const contract = loadContract(ownContract && existsSync(ownContract) ? ownContract : undefined);
    const modelPath = options.modelPath ?? join(MODELS_DIR, contract.files[precision]);
    if (!existsSync(modelPath)) throw new Error(`model file not found: ${modelPath}`);
    const session = await ort.InferenceSession.create(modelPath, sessionOptions(options.threads));
    return new AttributeModel(session, contract, modelPath, options.flipAverage ?? false);
  }

  /** The crop side length the model takes (`input.size` of the contract). */
  get inputSize(): number {
    return this.contract.input.size;
  }

  /** Decoded attributes, one per crop, in order. */
  async run(crops: Float32Array[]): Promise<FaceAttributes[]> {
    return (await this.runRaw(crops)).map((raw) => decodeAttributes(raw, this.contract));
  }

  /**
   * The raw output values (output name → numbers), one per crop; all crops go in one batch. With
   * `flipAverage`, the batch holds the N crops and then their N mirrors, and each face's outputs
   * are the average of its two (`averageFlipped`).
   */
  async runRaw(crops: Float32Array[]): Promise<RawOutputs[]> {
    if (crops.length === 0) return [];
    const size = this.inputSize;
    const cropLength = 3 * size * size;
    const runs = this.flipAverage ? 2 * crops.length : crops.length;
    const batch = new Float32Array(runs * cropLength);
    crops.forEach((crop, index) => {
      if (crop.length !== cropLength)
        throw new RangeError(`crop ${index} has ${crop.length} values, expected ${cropLength}`);
      batch.set(crop, index * cropLength);
    });
    if (this.flipAverage) mirrorRows(batch, crops.length * cropLength, 3 * crops.length * size, size);
    const input = new ort.Tensor('float32', batch, [runs, 3, size, size]);
    const outputs = await this.session.run({ [this.contract.input.name]: input });
    try {
      const faces = splitBatch(outputs as Record<string, ort.Tensor & { data: Float32Array }>, runs);
      if (!this.flipAverage) return faces;
      return crops.map((_, index) =>
        averageFlipped(faces[index], faces[crops.length + index], this.contract),
      );
    } finally {
      input.dispose();
      for (const tensor of Object.values(outputs)) tensor.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Writes the first `rows` rows of `width` values in `batch` mirrored (each row reversed) at
 * `offset`: every row of every channel of every crop, so the crops that fill the start of an NCHW
 * batch reappear mirrored left–right from `offset` on, in the same order.
 */
function mirrorRows(batch: Float32Array, offset: number, rows: number, width: number): void {
  for (let row = 0; row < rows; row++) {
    const from = row * width;
    const to = offset + from + width - 1;
    for (let x = 0; x < width; x++) batch[to - x] = batch[from + x];
  }
}

/** Session options shared by every model the runtime loads. */
export function sessionOptions(threads?: number): ort.InferenceSession.SessionOptions {
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new Error(`threads must be a positive integer, not ${threads}`);
  }
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
    interOpNumThreads: 1,
    logSeverityLevel: 3, // errors only: no warnings about unused initializers on stderr
  };
}
