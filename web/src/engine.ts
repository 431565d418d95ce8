/**
 * The face analyzer in the browser: the same BlazeFace detector and attribute model as the Node
 * runtime, run by onnxruntime-web (WebGPU when the browser has an adapter, else WASM with threads).
 *
 * Only what is browser-specific lives here: sessions and RGBA → RGB. Anchors, box decoding, NMS,
 * tiling, the detector's letterbox resize, the face crop, label decoding and the result JSON are
 * the Node runtime's own modules, imported from src/.
 */
import type * as Ort from 'onnxruntime-web';
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
import type { LiveAttributes } from './live.js';
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
  /** WASM threads (default: see defaultThreads); 1 where the page is not cross-origin isolated. */
  threads?: number;
}

export interface BrowserAnalyzer {
  /** The execution provider actually used: `webgpu` or `wasm (N threads)`. */
  readonly backend: string;
  /**
   * Finds the faces and their attributes. With `live` (one per video stream), faces followed from
   * earlier frames may keep their attributes: see LiveAttributes.
   */
  analyze(pixels: ImageData, live?: LiveAttributes): Promise<Analysis>;
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

/**
 * onnxruntime-web's WASM-only build (a 14 MB binary) unless WebGPU runs, which needs the WebGPU
 * build (27 MB). Chromium compiles the binary on background threads after loading it, and on a
 * 2-core machine every analysis was 3–5× slower until that finished: ~30 s with the 28 MB JSEP
 * binary that the package's default entry loaded for both backends.
 */
function loadRuntime(provider: Provider): Promise<typeof Ort> {
  return provider === 'webgpu' ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm');
}

/**
 * One core left to the page (video, drawing, rendering), up to 4 threads. On 2 cores 1 thread beat
 * 2 in the live loop (fast mode 78–82 frames/s against 66–71 in two runs of bench/web-frame.mjs),
 * accurate mode and photos within the noise.
 */
function defaultThreads(): number {
  return Math.max(1, Math.min(4, (navigator.hardwareConcurrency || 1) - 1));
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

async function createSession(
  ort: typeof Ort,
  url: string,
  provider: Provider,
): Promise<Ort.InferenceSession> {
  const bytes = new Uint8Array(await (await fetchOk(url)).arrayBuffer());
  return ort.InferenceSession.create(bytes, {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3, // errors only, as in Node: no warnings about unused initializers
  });
}

/**
 * Canvas RGBA → the runtime's interleaved RGB (what `alignCrop` samples), into `rgb` when it has
 * the size. A pixel is read as one 32-bit word (R in the low byte: every browser is
 * little-endian); a byte store keeps the low 8 bits.
 */
function rgbFromRgba({ data, width, height }: ImageData, rgb: Uint8Array | null): RgbImage {
  const pixels = width * height;
  const target = rgb?.length === pixels * 3 ? rgb : new Uint8Array(pixels * 3);
  const words = new Uint32Array(data.buffer, data.byteOffset, pixels);
  for (let pixel = 0, at = 0; pixel < pixels; pixel++, at += 3) {
    const word = words[pixel];
    target[at] = word;
    target[at + 1] = word >>> 8;
    target[at + 2] = word >>> 16;
  }
  return { data: target, width, height };
}

export async function createBrowserAnalyzer(options: BrowserAnalyzerOptions): Promise<BrowserAnalyzer> {
  const provider = await chooseProvider(options.backend);
  const ort = await loadRuntime(provider);
  // Threads need cross-origin isolation (SharedArrayBuffer); facemtl serve sends the headers.
  const threads = crossOriginIsolated ? (options.threads ?? defaultThreads()) : 1;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';

  const settings: DetectionSettings = { ...DEFAULT_DETECTION_SETTINGS, ...options.detection };
  const models = modelsFor(settings);

  const contract = (await (await fetchOk(`${options.modelBase}facemtl.json`)).json()) as ModelContract;
  const detectors = new Map<DetectorModel, Ort.InferenceSession>();
  for (const model of models) {
    const url = `${options.modelBase}blazeface/${BLAZEFACE_MODELS[model].file}`;
    detectors.set(model, await createSession(ort, url, provider));
  }
  const attributes = await createSession(
    ort,
    `${options.modelBase}${contract.files[options.precision ?? 'int8']}`,
    provider,
  );

  // The detector's input is resized by the Node runtime's own code, not a canvas: Skia's
  // drawImage filters differently (mean ±1.5 grey levels), and BlazeFace's eyes on a hard face
  // moved by up to 18 px with it (issue 14: sample2.jpg's left face, a different age and gender).
  let spareRgb: Uint8Array | null = null;
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

  /** The attribute model's outputs per detection: all of them, or what `live` says to run. */
  async function describe(image: RgbImage, detections: Detection[], live?: LiveAttributes) {
    if (!live) return detections.length > 0 ? runAttributes(alignedCrops(image, detections, contract)) : [];
    const plan = live.plan(detections.map((detection) => detection.box));
    const toRun = plan.run.map((index) => detections[index]);
    const fresh = toRun.length > 0 ? await runAttributes(alignedCrops(image, toRun, contract)) : [];
    plan.run.forEach((index, at) => plan.store(index, fresh[at]));
    return detections.map((_, index) => plan.kept[index] ?? fresh[plan.run.indexOf(index)]);
  }

  return {
    backend: provider === 'wasm' ? `wasm (${threads} thread${threads === 1 ? '' : 's'})` : 'webgpu',

    async analyze(pixels, live) {
      // The RGB buffer is reused from one analysis to the next (a result holds no pixels); a
      // call made while another runs gets its own.
      const image = rgbFromRgba(pixels, spareRgb);
      spareRgb = null;

      try {
        const detections = await detectFaces(image, settings, (region, model, minScore) =>
          detectRegion(image, region, model, minScore),
        );
        const raw = await describe(image, detections, live);
        const faces = detections.map((detection, index) =>
          toFace(detection, decodeAttributes(raw[index], contract), raw[index]),
        );
        return { width: image.width, height: image.height, faces };
      } finally {
        spareRgb = image.data;
      }
    },

    async dispose() {
      for (const session of detectors.values()) await session.release();
      await attributes.release();
    },
  };
}
