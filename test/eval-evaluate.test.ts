import { describe, expect, it } from 'vitest';
import { evaluate, type Prediction, type Predictor } from '../src/eval/evaluate.js';
import type { DatasetReader, EvalSample } from '../src/eval/layouts/index.js';
import { Progress } from '../src/cli/progress.js';
import { confusionSvg, formatTable, type EvalReport } from '../src/eval/report.js';

const outputLabels = {
  age: ['mean', 'std'],
  gender: ['male', 'female'],
  ethnicity: ['white', 'black', 'asian', 'indian', 'other'],
  emotion: ['neutral', 'happy', 'surprise', 'sad', 'angry', 'disgust', 'fear', 'contempt'],
};

/** An in-memory UTKFace-like reader: one malformed sample is skipped by the reader itself. */
function reader(samples: EvalSample[]): DatasetReader {
  return {
    tasks: ['age', 'gender', 'ethnicity'],
    geometry: 'utkface',
    async *samples(skipped) {
      skipped.add('malformed name', 'bad.jpg');
      yield* samples;
    },
  };
}

const sample = (name: string, age: number, gender: string, ethnicity: string): EvalSample => ({
  name,
  bytes: Buffer.alloc(0),
  labels: { age, gender, ethnicity },
});

/** Answers from a table by sample name and records the batch sizes it was given. */
function tablePredictor(table: Record<string, Prediction>): Predictor & { batches: number[] } {
  const batches: number[] = [];
  return {
    batches,
    async predict(samples) {
      batches.push(samples.length);
      return samples.map((s) => table[s.name]);
    },
  };
}

const outputs = (mean: number, std: number, female: number, ethnicity: number[]): Prediction => ({
  outputs: { age: [mean, std], gender: [1 - female, female], ethnicity },
});

const samples = [
  sample('a', 30, 'male', 'white'),
  sample('b', 40, 'female', 'asian'),
  sample('c', 20, 'female', 'asian'),
  sample('d', 50, 'male', 'white'),
  sample('e', 60, 'male', 'black'),
];
const table: Record<string, Prediction> = {
  a: outputs(32, 2, 0.1, [0.7, 0.1, 0.1, 0.05, 0.05]), // age error 2 (inside), gender right, white right
  b: outputs(40, 1, 0.8, [0.1, 0.1, 0.6, 0.1, 0.1]), // error 0, right, asian right
  c: outputs(30, 1, 0.3, [0.1, 0.1, 0.2, 0.5, 0.1]), // error 10 (outside), gender wrong, indian wrong
  d: { notDetected: true },
  e: { skip: 'unreadable image' },
};

describe('evaluate', () => {
  it('scores every task, counts skips and missed faces', async () => {
    const predictor = tablePredictor(table);
    const result = await evaluate(reader(samples), predictor, { outputLabels, batch: 2 });
    expect(predictor.batches).toEqual([2, 2, 1]);
    expect(result.n).toBe(4);
    expect(result.skipped).toBe(2);
    expect(result.skipped_reasons).toEqual({ 'malformed name': 1, 'unreadable image': 1 });
    expect(result.skipped_examples['unreadable image']).toEqual(['e']);
    expect(result.not_detected).toBe(1);
    expect(result.age).toEqual({ mae: 4, interval_coverage: 2 / 3, n: 3 });
    expect(result.gender!.accuracy).toBeCloseTo(2 / 4, 10); // the missed face counts as wrong
    expect(result.gender!.per_class).toEqual({
      male: { recall: 0.5, support: 2 },
      female: { recall: 0.5, support: 2 },
    });
    expect(result.gender!.confusion.labels).toEqual(['male', 'female', 'not_detected']);
    expect(result.ethnicity!.accuracy).toBeCloseTo(2 / 4, 10);
    expect(result.groups).toEqual({
      'asian/female': { n: 2, age_mae: 5, gender_accuracy: 0.5 },
      'white/male': { n: 2, age_mae: 2, gender_accuracy: 0.5 },
    });
  });

  it('stops after --limit usable samples', async () => {
    const predictor = tablePredictor(table);
    const result = await evaluate(reader(samples), predictor, { outputLabels, batch: 32, limit: 2 });
    expect(result.n).toBe(2);
    expect(predictor.batches).toEqual([2]);
  });

  it('leaves out the tasks a single-task model has no output for', async () => {
    const ageOnly: Record<string, Prediction> = {
      a: { outputs: { age: [30, 5] } },
      b: { outputs: { age: [50, 5] } },
    };
    const result = await evaluate(reader(samples.slice(0, 2)), tablePredictor(ageOnly), { outputLabels });
    expect(result.age).toEqual({ mae: 5, interval_coverage: 0.5, n: 2 }); // b is 10 years off, 8.2 allowed
    expect(result.gender).toBeUndefined();
    expect(result.ethnicity).toBeUndefined();
    expect(result.groups).toEqual({
      'asian/female': { n: 1, age_mae: 10, gender_accuracy: null },
      'white/male': { n: 1, age_mae: 0, gender_accuracy: null },
    });
  });

  it('refuses a layout whose task the model cannot score', async () => {
    const emotionReader: DatasetReader = { tasks: ['emotion_fer2013'], geometry: 'fer', async *samples() {} };
    await expect(evaluate(emotionReader, tablePredictor({}), { outputLabels })).rejects.toThrow(
      /no "emotion_fer2013" output/,
    );
  });
});

describe('progress and report text', () => {
  it('draws progress only on a terminal', () => {
    const written: string[] = [];
    const stream = (isTTY: boolean) => ({ isTTY, write: (text: string) => written.push(text) }) as never;
    // as `facemtl eval` draws it (src/cli/eval.ts)
    const silent = new Progress({ label: 'eval', unit: 'samples', stream: stream(false) });
    silent.update(10, '1 skipped');
    silent.done();
    expect(written).toEqual([]);
    const shown = new Progress({ label: 'eval', unit: 'samples', stream: stream(true) });
    shown.update(10, '1 skipped');
    shown.done();
    expect(written[0]).toMatch(/^\reval {2}10 samples {2}[\d.]+\/s {2}\d+:\d\d elapsed {2}1 skipped/);
    expect(written.at(-1)).toBe('\r\x1b[K');
  });

  it('prints the metrics, per-class recall and groups, and draws the confusion counts', async () => {
    const result = await evaluate(reader(samples.slice(0, 3)), tablePredictor(table), { outputLabels });
    const report: EvalReport = {
      layout: 'utkface',
      path: 'x',
      model: 'm.onnx',
      precision: 'int8',
      detect: false,
      elapsed_s: 1,
      ...result,
    };
    const text = formatTable(report);
    expect(text).toMatch(/^age\s+3\s+4\.00 years\s+66\.7%$/m);
    expect(text).toMatch(/^gender\s+3\s+66\.7%/m);
    expect(text).toContain('gender recall (support): male 100.0% (1), female 50.0% (2)');
    expect(text).toMatch(/asian\/female\s+2\s+5\.00\s+50\.0%/);
    expect(text).toContain('skipped (malformed name): 1');
    const svg = confusionSvg('gender', report.gender!);
    expect(svg).toContain('>male</text>');
    expect(svg.match(/>1<\/text>/g)).toHaveLength(3); // male→male, female→male, female→female
  });
});
