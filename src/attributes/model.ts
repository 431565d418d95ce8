/**
 * `AttributeModel`: the multi-task CNN (age, gender, ethnicity, emotion) on onnxruntime-node.
 * Takes aligned crops (see crop.ts) and runs them all as one batch.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadContract, MODELS_DIR, type ModelContract } from './contract.js';
import { decodeAttributes, splitBatch, type FaceAttributes, type RawOutputs } from './decode.js';

export type Precision = 'int8' | 'fp32';

export interface AttributeModelOptions {
  /** An ONNX file following the contract (default: the shipped model of `precision`). */
  modelPath?: string;
  /** Which shipped model (default `int8`); ignored when `modelPath` is given. */
  precision?: Precision;
  /** ONNX Runtime intra-op threads (default: ONNX Runtime's choice, all cores). */
  threads?: number;
}

export class AttributeModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly contract: ModelContract,
    readonly modelPath: string,
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
    return new AttributeModel(session, contract, modelPath);
  }

  /** The crop side length the model takes (`input.size` of the contract). */
  get inputSize(): number {
    return this.contract.input.size;
  }

  /** Decoded attributes, one per crop, in order. */
  async run(crops: Float32Array[]): Promise<FaceAttributes[]> {
    return (await this.runRaw(crops)).map((raw) => decodeAttributes(raw, this.contract));
  }

  /** The raw output values (output name → numbers), one per crop; all crops go in one batch. */
  async runRaw(crops: Float32Array[]): Promise<RawOutputs[]> {
    if (crops.length === 0) return [];
    const size = this.inputSize;
    const cropLength = 3 * size * size;
    const batch = new Float32Array(crops.length * cropLength);
    crops.forEach((crop, index) => {
      if (crop.length !== cropLength)
        throw new RangeError(`crop ${index} has ${crop.length} values, expected ${cropLength}`);
      batch.set(crop, index * cropLength);
    });
    const input = new ort.Tensor('float32', batch, [crops.length, 3, size, size]);
    const outputs = await this.session.run({ [this.contract.input.name]: input });
    try {
      return splitBatch(outputs as Record<string, ort.Tensor & { data: Float32Array }>, crops.length);
    } finally {
      input.dispose();
      for (const tensor of Object.values(outputs)) tensor.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.session.release();
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
