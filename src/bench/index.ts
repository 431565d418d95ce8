/**
 * `runBench`: attribute-model latency and throughput, detector latency, full-pipeline frames per
 * second, model bytes and memory, and the multi-task vs single-task comparison. Every timing is the
 * median of repeats after a warm-up (see timing.ts); results are plain JSON (report.ts).
 */
import { stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { loadContract, MODELS_DIR } from '../attributes/contract.js';
import { AttributeModel, type Precision } from '../attributes/model.js';
import { FaceDetector } from '../detect/detector.js';
import { loadImage } from '../image/load.js';
import { FaceAnalyzer } from '../pipeline/index.js';
import { baselineFiles, compareModelSets, type ModelSet } from './compare.js';
import { fiveFaceFrame, oneFaceFrame, samplePhotos, type FaceSource } from './frames.js';
import { machineInfo } from './machine.js';
import type { AttributeCell, BenchReport, DetectorCell, PipelineCell } from './report.js';
import { randomCrops, rssMiB } from './sessions.js';
import { measureStages, photoInput, type StageTimes } from './stages.js';
import { measureInterleaved, type TimingOptions } from './timing.js';

export const BENCH_SECTIONS = ['attribute', 'detector', 'pipeline', 'stages', 'compare'] as const;
export type BenchSection = (typeof BENCH_SECTIONS)[number];

export interface BenchOptions {
  /** Approximate time spent timing each cell, in ms (default 1500). */
  budgetMs?: number;
  warmup?: number;
  /** Thread counts of the attribute-model cells (default: 1 and all cores). */
  threads?: number[];
  batches?: number[];
  precisions?: Precision[];
  /** Which parts to run (default all). */
  sections?: BenchSection[];
  /** Folder with `single-{task}-{precision}.onnx` baselines (default `models/baselines`). */
  baselinesDir?: string;
  /** Instead of the baselines: these files, run one after another, against the multi-task model. */
  models?: string[];
  /** Measures the RSS a set of model files adds to a fresh process (the CLI spawns itself). */
  probeMemory?: (files: string[]) => Promise<number | null>;
  /** The command line to record in the report. */
  command?: string;
  log?: (line: string) => void;
}

export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  const rssStart = rssMiB();
  const machine = machineInfo();
  const all = machine.cores;
  const timing: TimingOptions = { budgetMs: options.budgetMs ?? 1500, warmup: options.warmup ?? 2 };
  const threadCounts = options.threads ?? [...new Set([1, all])];
  const batches = options.batches ?? [1, 8, 32];
  const precisions = options.precisions ?? ['fp32', 'int8'];
  const sections = new Set(options.sections ?? BENCH_SECTIONS);
  const log = options.log ?? (() => {});
  const contract = loadContract();
  const notes: string[] = [];

  const modelBytes: Record<string, number> = {};
  for (const precision of precisions) {
    modelBytes[contract.files[precision]] = (await stat(join(MODELS_DIR, contract.files[precision]))).size;
  }

  // Variants that are compared (precisions, detector models, 1 vs 5 faces) are timed in
  // alternation, so their ratios hold even when the machine's load changes during the run.
  const attribute: AttributeCell[] = [];
  if (sections.has('attribute')) {
    const crops = randomCrops(Math.max(...batches), contract.input.size);
    for (const threads of threadCounts) {
      const models = await Promise.all(
        precisions.map((precision) => AttributeModel.create({ precision, threads })),
      );
      for (const batch of batches) {
        const input = crops.slice(0, batch);
        const timings = await measureInterleaved(
          models.map((model) => () => model.runRaw(input)),
          timing,
        );
        timings.forEach((result, i) => {
          attribute.push({
            precision: precisions[i],
            threads,
            batch,
            ms_per_batch: result.median_ms,
            ms_per_face: result.median_ms / batch,
            best_ms_per_face: result.min_ms / batch,
            faces_per_s: (1000 * batch) / result.median_ms,
            repeats: result.repeats,
          });
          log(
            `attribute ${precisions[i]} threads=${threads} batch=${batch}: ${(result.median_ms / batch).toFixed(3)} ms/face`,
          );
        });
      }
      await Promise.all(models.map((model) => model.dispose()));
    }
    attribute.sort(
      (x, y) => x.precision.localeCompare(y.precision) || x.threads - y.threads || x.batch - y.batch,
    );
  }

  const detector: DetectorCell[] = [];
  const pipeline: PipelineCell[] = [];
  const stages: StageTimes[] = [];
  if (sections.has('detector') || sections.has('pipeline') || sections.has('stages')) {
    const frames = await composeFrames(all);
    const images = { 1: await loadImage(frames.one), 5: await loadImage(frames.five) };
    if (sections.has('detector')) {
      const models = ['front', 'back'] as const;
      for (const threads of threadCounts) {
        const detectors = await Promise.all(
          models.map((model) => FaceDetector.create({ detector: model, tiles: 0, threads })),
        );
        const timings = await measureInterleaved(
          detectors.map((faceDetector) => () => faceDetector.detect(images[5])),
          timing,
        );
        for (const [i, faceDetector] of detectors.entries()) {
          const faces = (await faceDetector.detect(images[5])).length;
          const { median_ms, repeats } = timings[i];
          detector.push({ model: models[i], threads, ms: median_ms, faces, repeats });
          log(`detector ${models[i]} threads=${threads}: ${median_ms.toFixed(2)} ms, ${faces} faces`);
          await faceDetector.dispose();
        }
      }
    }
    if (sections.has('pipeline')) {
      const counts = [1, 5] as const;
      const jpeg = { 1: frames.one, 5: frames.five };
      for (const threads of threadCounts) {
        const analyzer = await FaceAnalyzer.create({ threads });
        const fromPixels = await measureInterleaved(
          counts.map((faces) => () => analyzer.analyzeFrame(images[faces])),
          timing,
        );
        const fromJpeg = await measureInterleaved(
          counts.map((faces) => () => analyzer.analyze(jpeg[faces])),
          timing,
        );
        for (const [i, faces] of counts.entries()) {
          const detected = (await analyzer.analyzeFrame(images[faces])).faces.length;
          pipeline.push({
            threads,
            faces,
            detected,
            ms_per_frame: fromPixels[i].median_ms,
            fps: 1000 / fromPixels[i].median_ms,
            jpeg_ms_per_frame: fromJpeg[i].median_ms,
            repeats: fromPixels[i].repeats,
          });
          log(
            `pipeline threads=${threads} ${faces} face(s): ${fromPixels[i].median_ms.toFixed(2)} ms/frame, ${detected} found`,
          );
        }
        await analyzer.dispose();
      }
      if (pipeline.some((cell) => cell.detected !== cell.faces)) {
        notes.push('The detector did not find every composed face in a pipeline frame (see "faces found").');
      }
    }
    if (sections.has('stages')) {
      for (const faces of [1, 5] as const) {
        const frame = { name: `640×480 frame, ${faces} face${faces > 1 ? 's' : ''}`, image: images[faces] };
        stages.push(await measureStages(frame, 'front', timing));
        log(`stages front ${faces} face(s): ${stages.at(-1)!.total_ms.toFixed(2)} ms`);
      }
      stages.push(await measureStages(await photoInput(samplePhotos()[0]), 'auto', timing));
      log(`stages photo: ${stages.at(-1)!.total_ms.toFixed(2)} ms`);
    }
  }

  let comparison: BenchReport['comparison'];
  if (sections.has('compare')) {
    comparison = [];
    const baselinesDir = options.baselinesDir ?? join(MODELS_DIR, 'baselines');
    for (const precision of precisions) {
      const multi: ModelSet = { name: 'multi-task', files: [join(MODELS_DIR, contract.files[precision])] };
      let others: ModelSet[];
      if (options.models?.length) {
        others = [{ name: `${options.models.length} models in sequence`, files: options.models }];
      } else {
        const files = baselineFiles(baselinesDir, precision);
        others = files ? [{ name: 'single-task ×4', files }] : [];
      }
      if (!others.length) {
        notes.push(
          `No single-task ${precision} baselines in ${relative(process.cwd(), baselinesDir)}/: comparison skipped.`,
        );
        continue;
      }
      log(`comparing ${precision}: ${[multi, ...others].map((set) => set.name).join(' vs ')}`);
      const sets = await compareModelSets([multi, ...others], {
        threads: all,
        batches: [1, 8],
        input: contract.input,
        timing,
        probeMemory: options.probeMemory,
      });
      comparison.push({ precision, threads: all, sets });
      if (options.models?.length) break; // --models names explicit files: one comparison
    }
  }

  const memory = process.memoryUsage();
  return {
    machine,
    command: options.command ?? 'facemtl bench',
    settings: { budget_ms: timing.budgetMs!, warmup: timing.warmup!, threads_all: all },
    model_bytes: modelBytes,
    input_size: contract.input.size,
    attribute,
    detector,
    pipeline,
    ...(stages.length ? { stages } : {}),
    memory: {
      rss_start_mib: rssStart,
      rss_end_mib: memory.rss / 2 ** 20,
      heap_used_mib: memory.heapUsed / 2 ** 20,
    },
    ...(comparison ? { comparison } : {}),
    notes,
  };
}

/** 640×480 JPEG frames with 1 and 5 faces, from faces the detector finds in the sample photos. */
async function composeFrames(threads: number): Promise<{ one: Buffer; five: Buffer }> {
  const detector = await FaceDetector.create({ threads });
  try {
    // the best face of every photo first, then second faces: five different photos when possible
    const best: FaceSource[] = [];
    const second: FaceSource[] = [];
    for (const photo of samplePhotos()) {
      const image = await loadImage(photo);
      const [first, next] = await detector.detect(image);
      if (first) best.push({ photo, width: image.width, height: image.height, face: first.box });
      if (next) second.push({ photo, width: image.width, height: image.height, face: next.box });
    }
    const distinct = [...best, ...second];
    if (!distinct.length) throw new Error('the detector found no face in the sample photos');
    return { one: await oneFaceFrame(distinct[0]), five: await fiveFaceFrame(distinct) };
  } finally {
    await detector.dispose();
  }
}
