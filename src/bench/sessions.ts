/**
 * Raw ONNX Runtime sessions for comparing model files with each other (multi-task vs single-task):
 * every file gets the same input tensor and the same session options, so only the graphs differ.
 */
import { stat } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';

export async function openSession(path: string, threads: number): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(path, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // idle sessions' spinning worker threads would steal the cores from the one running (measured:
      // four 2-thread sessions in sequence took 9× longer with spinning than without on 2 cores)
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new Error(`${path}: cannot load the model (${reason})`, { cause: error });
  }
}

/** The model input of the contract: its name and side length. */
export interface ModelInput {
  name: string;
  size: number;
}

/** `length` reproducible pseudo-random pixel values 0–255. */
function randomPixels(length: number, seed = 12345): Float32Array {
  const data = new Float32Array(length);
  let state = seed;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return data;
}

/** A batch of `n` 3×`size`×`size` random images as the model's input tensor. */
export function randomImages(n: number, input: ModelInput): Record<string, ort.Tensor> {
  const { name, size } = input;
  return { [name]: new ort.Tensor('float32', randomPixels(n * 3 * size * size), [n, 3, size, size]) };
}

/** `n` random CHW crops, as `AttributeModel.run` takes them. */
export function randomCrops(n: number, size: number): Float32Array[] {
  return Array.from({ length: n }, (_, i) => randomPixels(3 * size * size, i + 1));
}

/** Runs every session on the same input, one after another. */
export async function runAll(
  sessions: ort.InferenceSession[],
  feeds: Record<string, ort.Tensor>,
): Promise<void> {
  for (const session of sessions) await session.run(feeds);
}

export async function fileBytes(paths: string[]): Promise<number> {
  let total = 0;
  for (const path of paths) total += (await stat(path)).size;
  return total;
}

/** Resident set size of this process, in MiB. */
export function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/**
 * What loading and running `paths` adds to a fresh process's memory: meant to run in a child
 * process (`facemtl bench --memory-probe a.onnx,b.onnx`) so that models measured earlier do not
 * count. Returns the RSS before loading and after a batch of 8 through every model, in MiB.
 */
export async function memoryProbe(
  paths: string[],
  threads: number,
  input: ModelInput,
): Promise<{ rss_before_mib: number; rss_after_mib: number }> {
  const before = rssMiB();
  const sessions = await Promise.all(paths.map((path) => openSession(path, threads)));
  await runAll(sessions, randomImages(8, input));
  return { rss_before_mib: before, rss_after_mib: rssMiB() };
}
