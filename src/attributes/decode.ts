/**
 * Model outputs → named, JSON-friendly attributes, by the names and label orders of the contract.
 * Pure code: usable in the browser too.
 */
import type { ModelContract } from './contract.js';

/** One face's raw outputs: output name → values (e.g. `age` → [mean, std]). */
export type RawOutputs = Record<string, number[]>;

export interface AgeEstimate {
  /** Mean of the predicted Gaussian, in years. */
  years: number;
  /** The 90% interval `years ± 1.645·std`, clamped at 0. */
  low: number;
  high: number;
  std: number;
}

export interface LabelEstimate {
  label: string;
  /** Probability of every label, in the contract's order. */
  probabilities: Record<string, number>;
}

/** A yes/no attribute (smile, eyeglasses, …): its probability and the contract's decision. */
export interface BinaryAttribute {
  probability: number;
  /** `probability >= threshold`, the threshold chosen on validation data (models/facemtl.json). */
  present: boolean;
}

/** The binary attributes of models that have them (`attributes` output), by name. */
export type BinaryAttributes = Record<string, BinaryAttribute>;

export interface FaceAttributes {
  age: AgeEstimate;
  gender: { label: string; probability: number };
  ethnicity: LabelEstimate;
  /** FER+ emotions (the runtime's emotion). */
  emotion: LabelEstimate;
  /** The head trained on the original FER2013 labels, when the model has it. */
  emotionFer2013?: LabelEstimate;
  /** smile, eyeglasses, makeup, lipstick, beard, moustache, sideburns; absent on older models. */
  attributes?: BinaryAttributes;
}

const Z_90 = 1.645;

export function decodeAttributes(raw: RawOutputs, contract: Pick<ModelContract, 'outputs'>): FaceAttributes {
  const [mean, std] = raw.age;
  const gender = labelled(raw, 'gender', contract);
  const attributes: FaceAttributes = {
    age: {
      years: round(mean, 2),
      low: round(Math.max(0, mean - Z_90 * std), 2),
      high: round(Math.max(0, mean + Z_90 * std), 2),
      std: round(std, 3),
    },
    gender: { label: gender.label, probability: gender.probabilities[gender.label] },
    ethnicity: labelled(raw, 'ethnicity', contract),
    emotion: labelled(raw, 'emotion', contract),
  };
  if (raw.emotion_fer2013 && contract.outputs.emotion_fer2013) {
    attributes.emotionFer2013 = labelled(raw, 'emotion_fer2013', contract);
  }
  const binary = contract.outputs.attributes;
  if (raw.attributes && binary?.kind === 'binary') {
    attributes.attributes = binaryAttributes(raw.attributes, binary.labels, binary.thresholds);
  }
  return attributes;
}

function binaryAttributes(
  values: number[],
  labels: readonly string[],
  thresholds: readonly number[] = [],
): BinaryAttributes {
  return Object.fromEntries(
    labels.map((label, index) => [
      label,
      { probability: round(values[index], 4), present: values[index] >= (thresholds[index] ?? 0.5) },
    ]),
  );
}

function labelled(raw: RawOutputs, name: string, contract: Pick<ModelContract, 'outputs'>): LabelEstimate {
  const labels = contract.outputs[name]?.labels;
  const values = raw[name];
  if (!labels || !values) throw new Error(`the model has no "${name}" output`);
  let best = 0;
  const probabilities: Record<string, number> = {};
  labels.forEach((label, index) => {
    probabilities[label] = round(values[index], 4);
    if (values[index] > values[best]) best = index;
  });
  return { label: labels[best], probabilities };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Splits batched output tensors (`name` → N×K values) into one `RawOutputs` per face. */
export function splitBatch(
  outputs: Record<string, { data: ArrayLike<number>; dims: readonly number[] }>,
  count: number,
): RawOutputs[] {
  const faces: RawOutputs[] = Array.from({ length: count }, () => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
    const width = tensor.data.length / count;
    for (let face = 0; face < count; face++) {
      faces[face][name] = Array.from({ length: width }, (_, k) => tensor.data[face * width + k]);
    }
  }
  return faces;
}

/**
 * One face's outputs from its crop and from the same crop mirrored left–right, averaged into one
 * (test-time flip averaging). Probabilities (softmax heads, sigmoid attributes) are averaged, so
 * they stay probabilities. The age Gaussian keeps the mean of the two means and takes the root of
 * the mean variance as its std: the two runs see the same face and their errors are strongly
 * correlated, so the std is not shrunk as for independent estimates (that would make the
 * calibrated 90% interval too narrow); the equal mixture's variance would add ((m₁ − m₂)/2)²,
 * which is small next to the variance when the two runs agree.
 */
export function averageFlipped(
  original: RawOutputs,
  mirrored: RawOutputs,
  contract: Pick<ModelContract, 'outputs'>,
): RawOutputs {
  const averaged: RawOutputs = {};
  for (const [name, values] of Object.entries(original)) {
    const other = mirrored[name];
    if (contract.outputs[name]?.kind === 'gaussian') {
      const [mean, std] = values;
      const [otherMean, otherStd] = other;
      averaged[name] = [(mean + otherMean) / 2, Math.sqrt((std * std + otherStd * otherStd) / 2)];
    } else {
      averaged[name] = values.map((value, k) => (value + other[k]) / 2);
    }
  }
  return averaged;
}
