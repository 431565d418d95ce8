/**
 * The yes/no attributes (smile, eyeglasses, …) for display and columns: which names a contract
 * has, and the short text of the ones a face shows. Pure code: the CLI, the video annotations and
 * the browser demo all print them the same way.
 */
import type { ModelContract } from './contract.js';
import type { BinaryAttributes } from './decode.js';

/** The contract's binary attribute names in output order; none for a model without them. */
export function binaryLabels(contract: Pick<ModelContract, 'outputs'>): readonly string[] {
  const output = contract.outputs.attributes;
  return output?.kind === 'binary' ? output.labels : [];
}

/** Shorter words where the contract's name is long for a label drawn over a face. */
const SHORT_NAMES: Readonly<Record<string, string>> = { eyeglasses: 'glasses' };

const present = (attributes: BinaryAttributes | undefined) =>
  Object.entries(attributes ?? {}).filter(([, attribute]) => attribute.present);

/** The attributes a face shows (`present`), in contract order, by their short name. */
export function presentAttributes(attributes: BinaryAttributes | undefined): string[] {
  return present(attributes).map(([name]) => SHORT_NAMES[name] ?? name);
}

/** `smile 93% · glasses 99%`: the attributes a face shows with their probability, or `none`. */
export function attributeSummary(attributes: BinaryAttributes): string {
  const shown = present(attributes).map(
    ([name, { probability }]) => `${SHORT_NAMES[name] ?? name} ${Math.round(probability * 100)}%`,
  );
  return shown.join(' · ') || 'none';
}
