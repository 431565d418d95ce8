/** Timing helpers of `facemtl bench`: warm-up, then repeats within a time budget, reported as medians. */

export interface Timing {
  /** Median wall time of one call, in milliseconds. */
  median_ms: number;
  /** Fastest and slowest call, in milliseconds. */
  min_ms: number;
  max_ms: number;
  repeats: number;
}

export interface TimingOptions {
  /** Calls made (and discarded) before timing. */
  warmup?: number;
  /** Timing goes on until both this many rounds and `budgetMs` per function are reached (or `maxRepeats`). */
  minRepeats?: number;
  maxRepeats?: number;
  budgetMs?: number;
}

export function median(values: readonly number[]): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Times several functions in alternation (A, B, C, A, B, C, …) so that a change in machine load
 * during the measurement hits all of them alike: their ratios stay meaningful on a busy machine.
 */
export async function measureInterleaved(
  fns: Array<() => Promise<unknown> | unknown>,
  options: TimingOptions = {},
): Promise<Timing[]> {
  const { warmup = 2, minRepeats = 5, maxRepeats = 1000, budgetMs = 1500 } = options;
  for (let i = 0; i < warmup; i++) for (const fn of fns) await fn();
  const times: number[][] = fns.map(() => []);
  const start = performance.now();
  const budget = budgetMs * fns.length;
  while (
    times[0].length < maxRepeats &&
    (times[0].length < minRepeats || performance.now() - start < budget)
  ) {
    for (const [i, fn] of fns.entries()) {
      const t0 = performance.now();
      await fn();
      times[i].push(performance.now() - t0);
    }
  }
  return times.map((list) => ({
    median_ms: median(list),
    min_ms: Math.min(...list),
    max_ms: Math.max(...list),
    repeats: list.length,
  }));
}
