import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { compareModelSets } from '../src/bench/compare.js';
import type { BenchReport } from '../src/bench/report.js';
import { median, measureInterleaved } from '../src/bench/timing.js';
import { register } from '../src/cli/bench.js';

const root = mkdtempSync(join(tmpdir(), 'facemtl-bench-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('timing', () => {
  it('takes medians', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('alternates the functions it times, after warm-up', async () => {
    const calls: string[] = [];
    const timings = await measureInterleaved([() => calls.push('a'), () => calls.push('b')], {
      warmup: 1,
      minRepeats: 3,
      budgetMs: 0,
    });
    expect(calls).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    expect(timings.map((t) => t.repeats)).toEqual([3, 3]);
    expect(timings[0].min_ms).toBeLessThanOrEqual(timings[0].median_ms);
  });
});

describe('model comparison', () => {
  it('times a set of files in sequence against one file and sums their bytes', async () => {
    const model = 'models/facemtl-int8.onnx';
    const [one, three] = await compareModelSets(
      [
        { name: 'one', files: [model] },
        { name: 'three', files: [model, model, model] },
      ],
      {
        threads: 1,
        batches: [1, 4],
        input: { name: 'image', size: 64 },
        timing: { warmup: 1, minRepeats: 3, budgetMs: 0 },
      },
    );
    expect(three.bytes).toBe(3 * one.bytes);
    expect(Object.keys(one.ms_per_face)).toEqual(['1', '4']);
    expect(one.ms_per_face[1]).toBeGreaterThan(0);
    expect(one.rss_added_mib).toBeNull();
  });
});

/** `facemtl bench --budget 1 --only SECTIONS --json JSON --markdown MARKDOWN`, progress silenced. */
async function runBench(sections: string, json: string, markdown: string): Promise<void> {
  const program = new Command('facemtl').exitOverride();
  register(program);
  const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    await program.parseAsync([
      'node',
      'facemtl',
      'bench',
      '--budget',
      '1',
      '--only',
      sections,
      '--json',
      json,
      '--markdown',
      markdown,
    ]);
  } finally {
    errors.mockRestore();
  }
}

describe('facemtl bench (CLI)', () => {
  it('writes JSON and markdown for the chosen sections', async () => {
    const json = join(root, 'bench.json');
    const markdown = join(root, 'bench.md');
    await runBench('attribute,detector', json, markdown);
    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(report.machine.cores).toBeGreaterThan(0);
    // 2 precisions × (1 thread and all cores: 1 or 2 thread counts) × 3 batch sizes
    const threads = [...new Set([1, report.machine.cores])];
    expect(report.attribute).toHaveLength(2 * threads.length * 3);
    expect(report.attribute.every((cell) => cell.ms_per_face > 0 && cell.faces_per_s > 0)).toBe(true);
    expect(report.detector.map((cell) => `${cell.model}/${cell.threads}`)).toEqual(
      threads.flatMap((n) => [`front/${n}`, `back/${n}`]),
    );
    expect(report.detector.every((cell) => cell.faces === 5)).toBe(true);
    expect(report.pipeline).toEqual([]);
    expect(report.comparison).toBeUndefined();
    expect(report.model_bytes['facemtl-int8.onnx']).toBeGreaterThan(1000);
    const text = readFileSync(markdown, 'utf8');
    expect(text).toContain('| int8 | 1 | 32 |');
    expect(text).toContain(report.machine.cpu);
  });

  it('breaks a frame and a photo down into model runs and stages (--only stages)', async () => {
    const json = join(root, 'stages.json');
    const markdown = join(root, 'stages.md');
    await runBench('stages', json, markdown);
    const { stages } = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    // webcam frames (front: one whole-frame run + one refinement per face), then the photo (back on
    // the whole image and 2×2 tiles, one refinement per face)
    expect(stages!.map((s) => [s.detector, s.faces, s.detector_runs])).toEqual([
      ['front', 1, { front: 2 }],
      ['front', 5, { front: 6 }],
      ['auto', 3, { back: 5, front: 3 }],
    ]);
    for (const s of stages!) {
      const sum =
        s.attribute_run_ms +
        Object.entries(s.detector_runs).reduce(
          (total, [model, runs]) => total + runs * s.detector_run_ms[model as 'front' | 'back']!,
          0,
        );
      expect(s.model_sum_ms).toBeCloseTo(sum, 6);
      expect(s.overhead_ratio).toBeCloseTo(s.total_ms / sum, 6);
      expect(Object.keys(s.stages)).toEqual(
        expect.arrayContaining(['detector', 'decode_boxes_nms', 'crops', 'attribute_model', 'json']),
      );
    }
    expect(stages![2].stages.decode).toBeGreaterThan(0); // the photo starts from its JPEG bytes
    expect(readFileSync(markdown, 'utf8')).toContain('## Where the time goes (1 thread)');
  }, 120_000);
});
