/**
 * The face analyzer in the browser: the same BlazeFace detector and attribute model as the Node
 * runtime, run by onnxruntime-web (WebGPU when the browser has an adapter, else WASM with threads).
 *
 * Only what is browser-specific lives here: sessions and RGBA → RGB. Anchors, box decoding, NMS,
 * tiling, the detector's letterbox resize, the face crop, label decoding and the result JSON are
 * the Node runtime's own modules, imported from src/.
 */
import * as ort from 'onnxruntime-web';
import type { ModelContract } from '../../src/attributes/contract.js';
import { decodeAttributes, splitBatch } from '../../src/attributes/decode.js';
import {
  BLAZEFACE_INPUT,
  BLAZEFACE_MODELS,
  letterbox,
  type Detection,
  type DetectorModel,
} from '../../src/detect/blazeface.js';
import {
  DEFAULT_DETECTION_SETTINGS,
  detectFaces,
  modelsFor,
  regionDetections,
  type DetectionSettings,
  type Region,
} from '../../src/detect/regions.js';
import { letterboxTensor, type ResampleScratch } from '../../src/detect/resample.js';
import type { RgbImage } from '../../src/image/types.js';
import { alignedCrops, toFace } from '../../src/pipeline/face.js';
import type { Analysis } from './types.js';

export type Backend = 'auto' | 'wasm' | 'webgpu';
type Provider = 'webgpu' | 'wasm';

export interface BrowserAnalyzerOptions {
  backend: Backend;
  /** URL of the folder holding facemtl.json, the .onnx models and blazeface/. */
  modelBase: string;
  /** Detector settings, as in the Node runtime (same defaults). */
  detection?: Partial<DetectionSettings>;
  /** Attribute model precision. */
  precision?: 'int8' | 'fp32';
}

export interface BrowserAnalyzer {
  /** The execution provider actually used: `webgpu` or `wasm (N threads)`. */
  readonly backend: string;
  analyze(pixels: ImageData): Promise<Analysis>;
  dispose(): Promise<void>;
}

interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<unknown | null> };
}

async function chooseProvider(backend: Backend): Promise<Provider> {
  if (backend === 'wasm') return 'wasm';
  const adapter = await (navigator as GpuNavigator).gpu?.requestAdapter().catch(() => null);
  if (adapter) return 'webgpu';
  if (backend === 'webgpu') throw new Error('WebGPU is not available in this browser');
  return 'wasm';
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

async function createSession(url: string, provider: Provider): Promise<ort.InferenceSession> {
  const bytes = new Uint8Array(await (await fetchOk(url)).arrayBuffer());
  return ort.InferenceSession.create(bytes, {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3, // errors only, as in Node: no warnings about unused initializers
  });
}

/** Canvas RGBA → the runtime's interleaved RGB (what `alignCrop` samples). */
function rgbFromRgba({ data, width, height }: ImageData): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let source = 0, target = 0; target < rgb.length; source += 4, target += 3) {
    rgb[target] = data[source];
    rgb[target + 1] = data[source + 1];
    rgb[target + 2] = data[source + 2];
  }
  return { data: rgb, width, height };
}

export async function createBrowserAnalyzer(options: BrowserAnalyzerOptions): Promise<BrowserAnalyzer> {
  const provider = await chooseProvider(options.backend);
  // Threads need cross-origin isolation (SharedArrayBuffer); facemtl serve sends the headers.
  const threads = crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';

  const settings: DetectionSettings = { ...DEFAULT_DETECTION_SETTINGS, ...options.detection };
  const models = modelsFor(settings);

  const contract = (await (await fetchOk(`${options.modelBase}facemtl.json`)).json()) as ModelContract;
  const detectors = new Map<DetectorModel, ort.InferenceSession>();
  for (const model of models) {
    const url = `${options.modelBase}blazeface/${BLAZEFACE_MODELS[model].file}`;
    detectors.set(model, await createSession(url, provider));
  }
  const attributes = await createSession(
    `${options.modelBase}${contract.files[options.precision ?? 'int8']}`,
    provider,
  );

  // The detector's input is resized by the Node runtime's own code, not a canvas: Skia's
  // drawImage filters differently (mean ±1.5 grey levels), and BlazeFace's eyes on a hard face
  // moved by up to 18 px with it (issue 14: sample2.jpg's left face, a different age and gender).
  const buffers = new Map<DetectorModel, { input: Float32Array; scratch: ResampleScratch }>();

  /** One model on one region of the image → faces in image pixels. */
  async function detectRegion(
    image: RgbImage,
    region: Region,
    model: DetectorModel,
    minScore: number,
  ): Promise<Detection[]> {
    const inputSize = BLAZEFACE_MODELS[model].inputSize;
    const box = letterbox(region.width, region.height, inputSize);
    let buffer = buffers.get(model);
    if (!buffer) {
      buffer = { input: new Float32Array(inputSize * inputSize * 3), scratch: {} };
      buffers.set(model, buffer);
    }
    letterboxTensor(image, region, box, buffer.input, buffer.scratch);
    const input = new ort.Tensor('float32', buffer.input, [1, inputSize, inputSize, 3]);
    const outputs = await detectors.get(model)!.run({ [BLAZEFACE_INPUT]: input });
    const detections = regionDetections(outputs, box, region, image, minScore);
    for (const tensor of Object.values(outputs)) tensor.dispose();
    return detections;
  }

  async function runAttributes(crops: Float32Array[]) {
    const size = contract.input.size;
    const batch = new Float32Array(crops.length * 3 * size * size);
    crops.forEach((crop, index) => batch.set(crop, index * crop.length));
    const input = new ort.Tensor('float32', batch, [crops.length, 3, size, size]);
    const outputs = await attributes.run({ [contract.input.name]: input });
    const raw = splitBatch(outputs as unknown as Parameters<typeof splitBatch>[0], crops.length);
    input.dispose();
    for (const tensor of Object.values(outputs)) tensor.dispose();
    return raw;
  }

  return {
    backend: provider === 'wasm' ? `wasm (${threads} thread${threads === 1 ? '' : 's'})` : 'webgpu',

    async analyze(pixels) {
      const image = rgbFromRgba(pixels);

      const detections = await detectFaces(image, settings, (region, model, minScore) =>
        detectRegion(image, region, model, minScore),
      );

      const raw = detections.length > 0 ? await runAttributes(alignedCrops(image, detections, contract)) : [];
      const faces = detections.map((detection, index) =>
        toFace(detection, decodeAttributes(raw[index], contract), raw[index]),
      );
      return { width: image.width, height: image.height, faces };
    },

    async dispose() {
      for (const session of detectors.values()) await session.release();
      await attributes.release();
    },
  };
}
