/**
 * Option parsers and option groups shared by the commands. A parser throws commander's
 * `InvalidArgumentError`, which the command turns into a one-line usage error (exit 2).
 */
import { InvalidArgumentError, type Command } from 'commander';

/** An integer ≥ `min`. */
export function integer(name: string, min: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min)
      throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return parsed;
  };
}

/** A number from 0 to 1. */
export function fraction(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!(parsed >= 0 && parsed <= 1)) throw new InvalidArgumentError(`${name} must be a number from 0 to 1`);
    return parsed;
  };
}

/** One of `values`. */
export function choice<T extends string>(values: readonly T[]) {
  return (value: string): T => {
    if (!values.includes(value as T)) throw new InvalidArgumentError(`expected ${values.join(' | ')}`);
    return value as T;
  };
}

/** The attribute model options every model-running command takes: --model, --precision, --threads. */
export function addModelOptions(command: Command): Command {
  return command
    .option('--model <path>', 'attribute model ONNX file (default: the shipped model of --precision)')
    .option(
      '--precision <precision>',
      'shipped attribute model: int8 | fp32',
      choice(['int8', 'fp32']),
      'int8',
    )
    .option('--threads <n>', 'ONNX Runtime threads (default: all cores)', integer('--threads', 1));
}

/** What `--detector` chooses, for every command's help. */
export const DETECTOR_HELP =
  'front (128 px, near faces) | back (256 px, smaller faces) | auto (front on images up to 512 px, else back + tiles on large images)';
