/**
 * Where the time of a frame goes (issue 10): the whole `analyzeFrame`/`analyze` call next to the
 * bare model runs it contains and each of its stages timed alone — resize, detector, decode
 * boxes/NMS, crops, attribute model, JSON (and JPEG decoding for a photo). Everything is timed in
 * alternation in one process at 1 thread, so the ratios hold on a loaded machine.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '../attributes/model.js';
import { decodeAttributes } from '../attributes/decode.js';
import { BLAZEFACE_INPUT, BLAZEFACE_MODELS, letterbox, type DetectorModel } from '../detect/blazeface.js';
import { blazefaceModelPath } from '../detect/detector.js';
import {
  detectionRegions,
  needsRefinement,
  refineRegion,
  regionDetections,
  tileGrid,
} from '../detect/regions.js';
import { letterboxTensor } from '../detect/resample.js';
import { loadImage } from '../image/load.js';
import type { RgbImage } from '../image/types.js';
import { alignedCrops, toFace } from '../pipeline/face.js';
import { FaceAnalyzer } from '../pipeline/index.js';
import { measureInterleaved, type TimingOptions } from './timing.js';

export interface StageTimes {
  /** What was analysed. */
  input: string;
  /** Detector setting of the pipeline (`front` for a webcam frame, `auto` for a photo). */
  detector: string;
  faces: number;
  /** The whole call, median ms (with close-up refinement, the default). */
  total_ms: number;
  /** The whole call without refinement (`refine: false`), median ms. */
  total_no_refine_ms: number;
  /** One bare run of each model involved (ONNX Runtime alone, input ready), median ms. */
  detector_run_ms: Partial<Record<DetectorModel, number>>;
  attribute_run_ms: number;
  /** Model runs the call makes: detector runs per model (regions + one refinement per face) and one attribute batch. */
  detector_runs: Partial<Record<DetectorModel, number>>;
  /** Sum of those bare model runs, and total / sum. */
  model_sum_ms: number;
  overhead_ratio: number;
  /** Stage name → median ms of the stage alone (all its regions or faces). */
  stages: Record<string, number>;
}

/** Times a webcam frame (front detector) or a photo (default detector), stage by stage. */
export async function measureStages(
  input: { name: string; jpeg?: Buffer; image: RgbImage },
  detector: 'front' | 'auto',
  timing: TimingOptions,
): Promise<StageTimes> {
  const threads = 1;
  const analyzer = await FaceAnalyzer.create({ detector, threads });
  const unrefined = await FaceAnalyzer.create({ detector, threads, refine: false });
  const sessions: Partial<Record<DetectorModel, ort.InferenceSession>> = {};
  try {
    const { image, jpeg } = input;
    const detections = await analyzer.detect(image);
    const faces = detections.length;
    const first: DetectorModel = detector === 'front' ? 'front' : 'back';
    const regions = detectionRegions(
      image.width,
      image.height,
      tileGrid(detector, undefined, image.width, image.height),
    );
    const runs: Partial<Record<DetectorModel, number>> = { [first]: regions.length };
    // one close-up refinement per face that needs it (the unrefined detections decide, as in detectFaces)
    const refinements = (await unrefined.detect(image)).filter((face) => needsRefinement(face, first, image));
    if (refinements.length) runs.front = (runs.front ?? 0) + refinements.length;
    for (const model of Object.keys(runs) as DetectorModel[]) {
      sessions[model] = await ort.InferenceSession.create(blazefaceModelPath(model), sessionOptions(threads));
    }
    const tensor = (model: DetectorModel) => {
      const size = BLAZEFACE_MODELS[model].inputSize;
      const data = new Float32Array(size * size * 3);
      letterboxTensor(image, regions[0], letterbox(image.width, image.height, size), data);
      return new ort.Tensor('float32', data, [1, size, size, 3]);
    };
    const inputs = Object.fromEntries(
      (Object.keys(runs) as DetectorModel[]).map((model) => [model, tensor(model)]),
    ) as Record<DetectorModel, ort.Tensor>;
    const runDetector = (model: DetectorModel) => sessions[model]!.run({ [BLAZEFACE_INPUT]: inputs[model] });
    const outputs = await runDetector(first);
    const firstBox = letterbox(image.width, image.height, BLAZEFACE_MODELS[first].inputSize);
    const crops = alignedCrops(image, detections, analyzer.contract);
    const raw = await analyzer.model.runRaw(crops);
    const refineBox = (region: { width: number; height: number }) =>
      letterbox(region.width, region.height, 128);
    const scratch = new Float32Array(BLAZEFACE_MODELS[first].inputSize ** 2 * 3);
    const refineScratch = new Float32Array(128 * 128 * 3);

    const named: Record<string, () => unknown> = {
      total: () => (jpeg ? analyzer.analyze(jpeg) : analyzer.analyzeFrame(image)),
      total_no_refine: () => (jpeg ? unrefined.analyze(jpeg) : unrefined.analyzeFrame(image)),
      ...Object.fromEntries(
        (Object.keys(runs) as DetectorModel[]).map((model) => [`run_${model}`, () => runDetector(model)]),
      ),
      run_attributes: () => analyzer.model.runRaw(crops),
      ...(jpeg ? { decode: () => loadImage(jpeg) } : {}),
      // The fast path's in-process resize (the accurate path resizes with sharp: in "detector").
      ...(detector === 'front'
        ? {
            resize: () => {
              for (const region of regions)
                letterboxTensor(
                  image,
                  region,
                  letterbox(region.width, region.height, BLAZEFACE_MODELS[first].inputSize),
                  scratch,
                );
              for (const face of refinements) {
                const region = refineRegion(face, image);
                letterboxTensor(image, region, refineBox(region), refineScratch);
              }
            },
          }
        : {}),
      detector: () => analyzer.detect(image),
      decode_boxes_nms: () =>
        regionDetections(outputs, firstBox, regions[0], image, analyzer.detector.options.minScore),
      crops: () => alignedCrops(image, detections, analyzer.contract),
      json: () =>
        JSON.stringify(
          detections.map((detection, i) =>
            toFace(detection, decodeAttributes(raw[i], analyzer.contract), raw[i]),
          ),
        ),
    };
    const names = Object.keys(named);
    const timings = await measureInterleaved(Object.values(named), timing);
    const ms = Object.fromEntries(names.map((name, i) => [name, timings[i].median_ms]));
    const detectorRun: Partial<Record<DetectorModel, number>> = {};
    let modelSum = ms.run_attributes;
    for (const model of Object.keys(runs) as DetectorModel[]) {
      detectorRun[model] = ms[`run_${model}`];
      modelSum += ms[`run_${model}`] * runs[model]!;
    }
    const stages = Object.fromEntries(
      names
        .filter((name) => !name.startsWith('total') && !name.startsWith('run_'))
        .map((name) => [name, ms[name]]),
    );
    stages.attribute_model = ms.run_attributes;
    for (const tensor of Object.values(inputs)) tensor.dispose();
    return {
      input: input.name,
      detector,
      faces,
      total_ms: ms.total,
      total_no_refine_ms: ms.total_no_refine,
      detector_run_ms: detectorRun,
      attribute_run_ms: ms.run_attributes,
      detector_runs: runs,
      model_sum_ms: modelSum,
      overhead_ratio: ms.total / modelSum,
      stages,
    };
  } finally {
    for (const session of Object.values(sessions)) await session.release();
    await analyzer.dispose();
    await unrefined.dispose();
  }
}

/** A photo's bytes and decoded pixels, for `measureStages`. */
export async function photoInput(path: string): Promise<{ name: string; jpeg: Buffer; image: RgbImage }> {
  const jpeg = await readFile(path);
  return { name: path.split('/').pop()!, jpeg, image: await loadImage(jpeg) };
}
