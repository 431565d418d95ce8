/**
 * Multi-task vs single-task: the time to run a set of model files one after another on the same
 * batch, their bytes on disk and the memory they add to a fresh process.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileBytes, openSession, randomImages, runAll, type ModelInput } from './sessions.js';
import { measureInterleaved, type TimingOptions } from './timing.js';

export interface ModelSet {
  name: string;
  files: string[];
}

export interface ModelSetResult {
  name: string;
  files: string[];
  bytes: number;
  /** Milliseconds per face to run every file of the set, by batch size. */
  ms_per_face: Record<string, number>;
  /** MiB that loading the set and running one batch adds to a fresh process (null: not measured). */
  rss_added_mib: number | null;
}

export const SINGLE_TASKS = ['age', 'gender', 'ethnicity', 'emotion'] as const;

/** The single-task baselines `single-<task>-<precision>.onnx` in `dir`, or null when any is missing. */
export function baselineFiles(dir: string, precision: string): string[] | null {
  const files = SINGLE_TASKS.map((task) => join(dir, `single-${task}-${precision}.onnx`));
  return files.every((file) => existsSync(file)) ? files : null;
}

export async function compareModelSets(
  sets: ModelSet[],
  options: {
    threads: number;
    batches: number[];
    input: ModelInput;
    timing: TimingOptions;
    /** Measures the memory a set adds in a fresh process (see `memoryProbe`); omitted: not measured. */
    probeMemory?: (files: string[]) => Promise<number | null>;
  },
): Promise<ModelSetResult[]> {
  const opened = [];
  for (const set of sets)
    opened.push(await Promise.all(set.files.map((file) => openSession(file, options.threads))));
  const msPerFace: Record<string, number>[] = sets.map(() => ({}));
  for (const batch of options.batches) {
    const feeds = randomImages(batch, options.input);
    const timings = await measureInterleaved(
      opened.map((sessions) => () => runAll(sessions, feeds)),
      options.timing,
    );
    timings.forEach((timing, i) => (msPerFace[i][batch] = timing.median_ms / batch));
  }
  for (const sessions of opened) await Promise.all(sessions.map((session) => session.release()));
  const results: ModelSetResult[] = [];
  for (const [i, set] of sets.entries()) {
    results.push({
      name: set.name,
      files: set.files,
      bytes: await fileBytes(set.files),
      ms_per_face: msPerFace[i],
      rss_added_mib: options.probeMemory ? await options.probeMemory(set.files) : null,
    });
  }
  return results;
}
