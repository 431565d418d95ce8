/**
 * Evaluation metrics, accumulated one sample at a time so that a whole dataset never has to be
 * held in memory. Each scorer's `result()` is plain JSON (the `facemtl eval --json` schema).
 */

/** z of a two-sided 90% interval of a Gaussian: the model contract's `mean ± 1.645·std`. */
export const Z90 = 1.645;

/** Number of equal-width confidence bins of the expected calibration error. */
export const ECE_BINS = 15;

/** Pseudo-label of the predicted side when `--detect` found no face: it always counts as a miss. */
export const NOT_DETECTED = 'not_detected';

export interface AgeResult {
  /** Mean absolute error of the predicted mean, in years. */
  mae: number | null;
  /** Share of true ages inside the predicted 90% interval `[max(0, mean − z·std), mean + z·std]`. */
  interval_coverage: number | null;
  n: number;
}

export interface ClassificationResult {
  accuracy: number | null;
  /** Recall (null when the class has no samples) and support (number of true samples) per class. */
  per_class: Record<string, { recall: number | null; support: number }>;
  /** Rows are true classes, columns predicted classes, both in the order of `labels`. */
  confusion: { labels: string[]; matrix: number[][] };
  /** Expected calibration error of the top label over 15 equal-width confidence bins. */
  ece: number | null;
  n: number;
  /** True classes the model cannot predict (they always count as misses). Omitted when none. */
  classes_not_in_model?: string[];
}

export class AgeScore {
  private n = 0;
  private absoluteErrorSum = 0;
  private covered = 0;

  add(trueAge: number, mean: number, std: number): void {
    this.n += 1;
    this.absoluteErrorSum += Math.abs(trueAge - mean);
    const low = Math.max(0, mean - Z90 * std);
    const high = mean + Z90 * std;
    if (trueAge >= low && trueAge <= high) this.covered += 1;
  }

  result(): AgeResult {
    return {
      mae: this.n ? this.absoluteErrorSum / this.n : null,
      interval_coverage: this.n ? this.covered / this.n : null,
      n: this.n,
    };
  }
}

/**
 * Accuracy, per-class recall, confusion matrix and top-label ECE of one classification task.
 * `modelLabels` are the model's output labels in output order; a true class outside them (a
 * `folders` class the model lacks) is added as an extra row and always counts as a miss.
 */
export class ClassificationScore {
  private readonly labels: string[];
  private readonly modelClassCount: number;
  private readonly index = new Map<string, number>();
  private confusion: number[][] = [];
  private readonly binCount = new Array<number>(ECE_BINS).fill(0);
  private readonly binConfidence = new Array<number>(ECE_BINS).fill(0);
  private readonly binCorrect = new Array<number>(ECE_BINS).fill(0);
  private readonly extraClasses: string[] = [];

  constructor(modelLabels: readonly string[]) {
    this.labels = [...modelLabels];
    this.modelClassCount = modelLabels.length;
    this.labels.forEach((label, i) => this.index.set(label, i));
    this.confusion = this.labels.map(() => this.labels.map(() => 0));
  }

  /** One prediction: the true class name and the model's probabilities (in model label order). */
  add(trueLabel: string, probabilities: ArrayLike<number>): void {
    if (probabilities.length !== this.modelClassCount) {
      throw new Error(`expected ${this.modelClassCount} probabilities, got ${probabilities.length}`);
    }
    const predicted = argmax(probabilities);
    const truth = this.classIndex(trueLabel);
    this.confusion[truth][predicted] += 1;

    const confidence = probabilities[predicted];
    // bins are (k/15, (k+1)/15]; a confidence of exactly 0 joins the first bin
    const bin = Math.min(ECE_BINS - 1, Math.max(0, Math.ceil(confidence * ECE_BINS) - 1));
    this.binCount[bin] += 1;
    this.binConfidence[bin] += confidence;
    if (truth === predicted) this.binCorrect[bin] += 1;
  }

  /** A sample the model gave no prediction for (`--detect` found no face): a miss, outside the ECE. */
  addMiss(trueLabel: string): void {
    const truth = this.classIndex(trueLabel);
    this.confusion[truth][this.classIndex(NOT_DETECTED, true)] += 1;
  }

  result(): ClassificationResult {
    const n = this.confusion.reduce((sum, row) => sum + sum0(row), 0);
    const correct = this.labels.reduce((sum, _, i) => sum + this.confusion[i][i], 0);
    const perClass: ClassificationResult['per_class'] = {};
    this.labels.forEach((label, i) => {
      if (label === NOT_DETECTED) return;
      const support = sum0(this.confusion[i]);
      perClass[label] = { recall: support ? this.confusion[i][i] / support : null, support };
    });
    const predicted = this.binCount.reduce((a, b) => a + b, 0);
    let ece = 0;
    for (let b = 0; b < ECE_BINS; b++) {
      if (this.binCount[b]) ece += Math.abs(this.binCorrect[b] - this.binConfidence[b]) / predicted;
    }
    const result: ClassificationResult = {
      accuracy: n ? correct / n : null,
      per_class: perClass,
      confusion: { labels: [...this.labels], matrix: this.confusion.map((row) => [...row]) },
      ece: predicted ? ece : null,
      n,
    };
    if (this.extraClasses.length) result.classes_not_in_model = [...this.extraClasses];
    return result;
  }

  private classIndex(label: string, predictedOnly = false): number {
    let i = this.index.get(label);
    if (i === undefined) {
      i = this.labels.length;
      this.labels.push(label);
      this.index.set(label, i);
      if (!predictedOnly) this.extraClasses.push(label);
      for (const row of this.confusion) row.push(0);
      this.confusion.push(this.labels.map(() => 0));
    }
    return i;
  }
}

export interface BinaryResult {
  /** Share of correct yes/no decisions at `threshold`. */
  accuracy: number | null;
  /** Mean of the recall of "yes" and of "no": 0.5 for a constant answer, whatever the base rate. */
  balanced_accuracy: number | null;
  /** F1 of the "yes" class. */
  f1: number | null;
  /** Share of true "yes" among the samples. */
  base_rate: number | null;
  /** The probability at or above which the model says "yes" (the contract's, or 0.5). */
  threshold: number;
  /** Counts: true/false positives and negatives (misses of `--detect` count as "no" answers). */
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  n: number;
}

/** Accuracy, balanced accuracy, F1 and base rate of one yes/no attribute. */
export class BinaryScore {
  private tp = 0;
  private fp = 0;
  private tn = 0;
  private fn = 0;

  constructor(readonly threshold = 0.5) {}

  /** One sample: the truth and the model's probability of "yes" (null: no face found, a "no"). */
  add(truth: boolean, probability: number | null): void {
    const yes = probability !== null && probability >= this.threshold;
    if (truth) {
      if (yes) this.tp += 1;
      else this.fn += 1;
    } else if (yes) this.fp += 1;
    else this.tn += 1;
  }

  result(): BinaryResult {
    const { tp, fp, tn, fn } = this;
    const n = tp + fp + tn + fn;
    const ratio = (a: number, b: number) => (b ? a / b : null);
    const recallYes = ratio(tp, tp + fn);
    const recallNo = ratio(tn, tn + fp);
    return {
      accuracy: ratio(tp + tn, n),
      balanced_accuracy: recallYes !== null && recallNo !== null ? (recallYes + recallNo) / 2 : null,
      f1: ratio(2 * tp, 2 * tp + fp + fn),
      base_rate: ratio(tp + fn, n),
      threshold: this.threshold,
      tp,
      fp,
      tn,
      fn,
      n,
    };
  }
}

export interface GroupResult {
  n: number;
  age_mae: number | null;
  gender_accuracy: number | null;
}

/**
 * Age MAE and gender accuracy per ethnicity × gender group (keys like `"white/female"`), for
 * datasets that label both (UTKFace). Missed faces count as gender misses and are left out of
 * the age error, as in the overall metrics.
 */
export class GroupScore {
  private readonly groups = new Map<
    string,
    { n: number; age: AgeScore; genderN: number; genderCorrect: number }
  >();

  add(
    ethnicity: string,
    gender: string,
    age: { true: number; mean: number; std: number } | null,
    genderCorrect: boolean | null,
  ): void {
    const key = `${ethnicity}/${gender}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { n: 0, age: new AgeScore(), genderN: 0, genderCorrect: 0 };
      this.groups.set(key, group);
    }
    group.n += 1;
    if (age) group.age.add(age.true, age.mean, age.std);
    if (genderCorrect !== null) {
      group.genderN += 1;
      if (genderCorrect) group.genderCorrect += 1;
    }
  }

  get size(): number {
    return this.groups.size;
  }

  result(): Record<string, GroupResult> {
    const out: Record<string, GroupResult> = {};
    for (const key of [...this.groups.keys()].sort()) {
      const group = this.groups.get(key)!;
      out[key] = {
        n: group.n,
        age_mae: group.age.result().mae,
        gender_accuracy: group.genderN ? group.genderCorrect / group.genderN : null,
      };
    }
    return out;
  }
}

/** Index of the largest value (the first one on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function sum0(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
