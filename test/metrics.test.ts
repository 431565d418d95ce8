import { describe, expect, it } from 'vitest';
import { canonicalClass, classMatcher } from '../src/eval/classes.js';
import { AgeScore, ClassificationScore, GroupScore, NOT_DETECTED } from '../src/eval/metrics.js';

describe('AgeScore', () => {
  it('computes MAE and 90% interval coverage', () => {
    const score = new AgeScore();
    score.add(10, 12, 1); // error 2, half-width 1.645: outside
    score.add(20, 20, 0.1); // error 0: inside
    score.add(30, 40, 5); // error 10, half-width 8.22: outside
    score.add(50, 45, 4); // error 5, half-width 6.58: inside
    const result = score.result();
    expect(result.n).toBe(4);
    expect(result.mae).toBeCloseTo((2 + 0 + 10 + 5) / 4, 10);
    expect(result.interval_coverage).toBeCloseTo(2 / 4, 10);
  });

  it('clamps the interval at age 0', () => {
    const score = new AgeScore();
    score.add(0, 1, 0.5); // interval [0.18, 1.82]: 0 is outside
    score.add(0, 1, 1); // interval [0, 2.64] after clamping: inside
    expect(score.result().interval_coverage).toBeCloseTo(0.5, 10);
  });

  it('reports nulls without samples', () => {
    expect(new AgeScore().result()).toEqual({ mae: null, interval_coverage: null, n: 0 });
  });
});

describe('ClassificationScore', () => {
  const labels = ['a', 'b', 'c'];

  function example(): ClassificationScore {
    const score = new ClassificationScore(labels);
    score.add('a', [0.9, 0.05, 0.05]); // right, confidence 0.9
    score.add('a', [0.2, 0.7, 0.1]); // wrong (b), confidence 0.7
    score.add('b', [0.1, 0.8, 0.1]); // right, 0.8
    score.add('c', [0.3, 0.3, 0.4]); // right, 0.4
    return score;
  }

  it('computes accuracy, per-class recall with support, and the confusion matrix', () => {
    const result = example().result();
    expect(result.n).toBe(4);
    expect(result.accuracy).toBeCloseTo(0.75, 10);
    expect(result.per_class).toEqual({
      a: { recall: 0.5, support: 2 },
      b: { recall: 1, support: 1 },
      c: { recall: 1, support: 1 },
    });
    expect(result.confusion).toEqual({
      labels,
      matrix: [
        [1, 1, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
    });
    expect(result.classes_not_in_model).toBeUndefined();
  });

  it('computes the top-label ECE over 15 bins', () => {
    // every sample in its own bin: ECE = mean |correct - confidence|
    expect(example().result().ece).toBeCloseTo((0.1 + 0.7 + 0.2 + 0.6) / 4, 10);
    // two samples in the same bin (0.933, 1]: |accuracy - mean confidence| of the bin
    const score = new ClassificationScore(labels);
    score.add('a', [0.95, 0.03, 0.02]);
    score.add('b', [0.97, 0.02, 0.01]);
    expect(score.result().ece).toBeCloseTo(Math.abs(0.5 - 0.96), 10);
    // perfectly calibrated: confidence 0.5, right half the time
    const calibrated = new ClassificationScore(['x', 'y']);
    calibrated.add('x', [0.5, 0.5]);
    calibrated.add('y', [0.5, 0.5]);
    expect(calibrated.result().ece).toBeCloseTo(0, 10);
  });

  it('counts a class the model lacks as a miss and reports it', () => {
    const score = example();
    score.add('d', [0.1, 0.1, 0.8]);
    const result = score.result();
    expect(result.accuracy).toBeCloseTo(3 / 5, 10);
    expect(result.classes_not_in_model).toEqual(['d']);
    expect(result.per_class.d).toEqual({ recall: 0, support: 1 });
    expect(result.confusion.labels).toEqual(['a', 'b', 'c', 'd']);
    expect(result.confusion.matrix[3]).toEqual([0, 0, 1, 0]);
    expect(result.confusion.matrix.every((row) => row.length === 4)).toBe(true);
  });

  it('counts an undetected face as a miss outside the ECE', () => {
    const score = example();
    const before = score.result().ece;
    score.addMiss('b');
    const result = score.result();
    expect(result.accuracy).toBeCloseTo(3 / 5, 10);
    expect(result.per_class.b).toEqual({ recall: 0.5, support: 2 });
    expect(result.per_class[NOT_DETECTED]).toBeUndefined();
    expect(result.confusion.labels.at(-1)).toBe(NOT_DETECTED);
    expect(result.confusion.matrix[1]).toEqual([0, 1, 0, 1]);
    expect(result.ece).toBeCloseTo(before!, 10);
    expect(result.classes_not_in_model).toBeUndefined();
  });

  it('rejects probabilities of the wrong length', () => {
    expect(() => new ClassificationScore(labels).add('a', [1, 0])).toThrow(/expected 3/);
  });
});

describe('GroupScore', () => {
  it('computes age MAE and gender accuracy per ethnicity × gender', () => {
    const score = new GroupScore();
    score.add('asian', 'female', { true: 30, mean: 34, std: 3 }, true);
    score.add('asian', 'female', { true: 20, mean: 18, std: 3 }, false);
    score.add('white', 'male', { true: 60, mean: 50, std: 3 }, true);
    score.add('white', 'male', null, false); // a face not detected
    expect(score.result()).toEqual({
      'asian/female': { n: 2, age_mae: 3, gender_accuracy: 0.5 },
      'white/male': { n: 2, age_mae: 10, gender_accuracy: 0.5 },
    });
  });
});

describe('class names', () => {
  it('maps common synonyms onto one name', () => {
    expect(canonicalClass('Happiness')).toBe('happy');
    expect(canonicalClass('anger')).toBe('angry');
    expect(canonicalClass('surprised')).toBe('surprise');
    expect(canonicalClass('Women')).toBe('female');
    expect(canonicalClass('men')).toBe('male');
    expect(canonicalClass('Confused')).toBe('confused');
  });

  it('matches dataset classes to model labels whatever the spelling on either side', () => {
    const match = classMatcher(['neutral', 'happy', 'sad', 'angry']);
    expect(match('happiness')).toBe('happy');
    expect(match('Angry')).toBe('angry');
    expect(match('contempt')).toBe('contempt');
    expect(classMatcher(['Happiness'])('happy')).toBe('Happiness');
  });
});
