/**
 * The evaluation loop: read a dataset layout, get the model's outputs for batches of samples from
 * a `Predictor`, and accumulate the metrics of every task the layout labels.
 */
import { classMatcher } from './classes.js';
import type { AttributeTask, DatasetReader, EvalSample, EvalTask } from './layouts/index.js';
import { isAttributeTask, SkipCounter } from './layouts/index.js';
import { AgeScore, argmax, BinaryScore, ClassificationScore, GroupScore } from './metrics.js';
import type { ClassificationTask, EvalReport } from './report.js';

/** The model's raw outputs for one face, by output name (`age` is `[mean, std]`). */
export type ModelOutputs = Record<string, ArrayLike<number>>;

/** What a predictor made of one sample. */
export type Prediction =
  | { outputs: ModelOutputs }
  /** `--detect` found no face: a miss for every task. */
  | { notDetected: true }
  /** The sample cannot be used (e.g. an unreadable image): skipped with this reason. */
  | { skip: string };

/** Turns a batch of samples into predictions, one per sample, in order. */
export interface Predictor {
  predict(samples: EvalSample[]): Promise<Prediction[]>;
}

export interface EvaluateOptions {
  /** Output labels of the model, by output name (the contract's `outputs[*].labels`). */
  outputLabels: Record<string, readonly string[]>;
  /** Decision thresholds of the yes/no attributes, by name (the contract's; default 0.5). */
  thresholds?: Partial<Record<AttributeTask, number>>;
  /** Stop after this many usable samples. */
  limit?: number;
  /** Samples per predictor call. */
  batch?: number;
  /** Called after each batch with the counts so far. */
  onProgress?: (done: number, skipped: number) => void;
}

/** The model output a task is scored on. */
export function outputOf(task: EvalTask): string {
  if (isAttributeTask(task)) return 'attributes';
  return task === 'emotion_ferplus' ? 'emotion' : task;
}

/** The metric fields of an `EvalReport` (everything but the description of the run). */
export type EvalScores = Pick<
  EvalReport,
  | 'n'
  | 'skipped'
  | 'skipped_reasons'
  | 'skipped_examples'
  | 'not_detected'
  | 'age'
  | 'groups'
  | 'smile_from_happy'
  | 'attribute_groups'
  | ClassificationTask
  | AttributeTask
>;

export async function evaluate(
  reader: DatasetReader,
  predictor: Predictor,
  options: EvaluateOptions,
): Promise<EvalScores> {
  const { outputLabels, limit = Infinity, batch = 32, onProgress } = options;
  const classTasks = reader.tasks.filter(
    (task): task is ClassificationTask => task !== 'age' && !isAttributeTask(task),
  );
  const attributeTasks = reader.tasks.filter(isAttributeTask);
  for (const task of reader.tasks) {
    if (!outputLabels[outputOf(task)])
      throw new Error(`the model has no "${outputOf(task)}" output to score ${task}`);
    if (isAttributeTask(task) && !outputLabels.attributes.includes(task))
      throw new Error(`the model's attributes output has no "${task}"`);
  }
  const binary = Object.fromEntries(
    attributeTasks.map((task) => [task, new BinaryScore(options.thresholds?.[task] ?? 0.5)]),
  ) as Partial<Record<AttributeTask, BinaryScore>>;
  // The emotion head as a smile detector (P(happy) ≥ 0.5): the bar the smile head must beat.
  const happyIndex = outputLabels.emotion?.indexOf('happy') ?? -1;
  const smileFromHappy = attributeTasks.includes('smile') && happyIndex >= 0 ? new BinaryScore(0.5) : null;
  // Attributes per "<predicted ethnicity>/<true gender>" (CelebA labels gender, not ethnicity):
  // makeup and lipstick are strongly gendered there, and a head may work for some groups only.
  const attributeGroups = new Map<string, Partial<Record<AttributeTask, BinaryScore>>>();
  const attributeGroup = (key: string) => {
    let group = attributeGroups.get(key);
    if (!group) {
      group = Object.fromEntries(
        attributeTasks.map((task) => [task, new BinaryScore(options.thresholds?.[task] ?? 0.5)]),
      );
      attributeGroups.set(key, group);
    }
    return group;
  };
  const matchers = Object.fromEntries(
    classTasks.map((task) => [task, classMatcher(outputLabels[outputOf(task)])]),
  );
  const scores = Object.fromEntries(
    classTasks.map((task) => [task, new ClassificationScore(outputLabels[outputOf(task)])]),
  ) as Partial<Record<ClassificationTask, ClassificationScore>>;
  const age = reader.tasks.includes('age') ? new AgeScore() : null;
  const hasGroups = reader.tasks.includes('gender') && reader.tasks.includes('ethnicity');
  const groups = new GroupScore();
  const skipped = new SkipCounter(); // the reader's skips and the predictor's
  let n = 0;
  let notDetected = 0;
  // tasks whose output the model does not have (a single-task model): left out of the report
  const modelLacks = new Set<EvalTask>();

  const score = (sample: EvalSample, prediction: Prediction) => {
    if ('skip' in prediction) {
      skipped.add(prediction.skip, sample.name);
      return;
    }
    n += 1;
    const outputs = 'outputs' in prediction ? prediction.outputs : null;
    if (!outputs) notDetected += 1;
    if (outputs) for (const task of reader.tasks) if (!outputs[outputOf(task)]) modelLacks.add(task);
    const truth: Partial<Record<ClassificationTask, string>> = {};
    for (const task of classTasks) {
      const label = sample.labels[task];
      if (label === undefined) continue;
      truth[task] = matchers[task](String(label));
      const probabilities = outputs?.[outputOf(task)];
      if (probabilities) scores[task]!.add(truth[task]!, probabilities);
      else if (!outputs) scores[task]!.addMiss(truth[task]!);
    }
    const ethnicity = outputs?.ethnicity && outputLabels.ethnicity?.[argmax(outputs.ethnicity)];
    const group =
      attributeTasks.length && ethnicity && truth.gender
        ? attributeGroup(`${ethnicity}/${truth.gender}`)
        : null;
    for (const task of attributeTasks) {
      const label = sample.labels[task];
      if (typeof label !== 'boolean') continue;
      const probability = outputs?.attributes?.[outputLabels.attributes.indexOf(task)] ?? null;
      binary[task]!.add(label, probability);
      group?.[task]!.add(label, probability);
      if (task === 'smile' && smileFromHappy)
        smileFromHappy.add(label, outputs?.emotion?.[happyIndex] ?? null);
    }
    const trueAge = sample.labels.age;
    const ageOut = outputs?.age;
    if (age && trueAge !== undefined && ageOut) age.add(trueAge, ageOut[0], ageOut[1]);
    if (hasGroups && truth.ethnicity && truth.gender) {
      // a missed face is a gender miss; a model without a gender output has no gender accuracy
      let genderCorrect: boolean | null = false;
      if (outputs)
        genderCorrect = outputs.gender ? outputLabels.gender[argmax(outputs.gender)] === truth.gender : null;
      const ageResult =
        trueAge !== undefined && ageOut ? { true: trueAge, mean: ageOut[0], std: ageOut[1] } : null;
      groups.add(truth.ethnicity, truth.gender, ageResult, genderCorrect);
    }
  };

  let pending: EvalSample[] = [];
  const flush = async () => {
    const predictions = await predictor.predict(pending);
    pending.forEach((sample, i) => score(sample, predictions[i]));
    pending = [];
    onProgress?.(n, skipped.total);
  };
  for await (const sample of reader.samples(skipped)) {
    pending.push(sample);
    // a skipped image in the batch makes room for one more: stop at exactly `limit` when possible
    if (pending.length >= Math.min(batch, limit - n)) await flush();
    if (n >= limit) break;
  }
  if (pending.length) await flush();

  const result: EvalScores = {
    n,
    skipped: skipped.total,
    skipped_reasons: skipped.counts,
    skipped_examples: skipped.examples,
    not_detected: notDetected,
  };
  if (age && !modelLacks.has('age')) result.age = age.result();
  for (const task of classTasks) if (!modelLacks.has(task)) result[task] = scores[task]!.result();
  for (const task of attributeTasks) if (!modelLacks.has(task)) result[task] = binary[task]!.result();
  if (smileFromHappy && !modelLacks.has('emotion')) result.smile_from_happy = smileFromHappy.result();
  if (attributeGroups.size && attributeTasks.every((task) => !modelLacks.has(task))) {
    result.attribute_groups = Object.fromEntries(
      [...attributeGroups.keys()].sort().map((key) => {
        const group = attributeGroups.get(key)!;
        const entries = attributeTasks.map((task) => {
          const { accuracy, balanced_accuracy, base_rate, n } = group[task]!.result();
          return [task, { accuracy, balanced_accuracy, base_rate, n }];
        });
        return [key, Object.fromEntries(entries)];
      }),
    );
  }
  if (hasGroups) result.groups = groups.result();
  return result;
}
