/**
 * The model contract (`models/facemtl.json`): input, crop convention, output names and label
 * orders. The types are pure; `loadContract` reads the file next to the package's models.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface CropGeometry {
  /** Eye midpoint as fractions of the crop (or image) size. */
  eyeCenter: readonly [number, number];
  /** Distance between the eye centres as a fraction of the crop (or image) width. */
  eyeDistance: number;
}

export type DatasetName = 'utkface' | 'fer' | 'celeba' | 'fairface';

/**
 * One ONNX output. `gaussian`: [mean, std]; `probabilities`: a softmax over `labels`;
 * `binary`: one independent probability per label (sigmoid), with the decision `thresholds`
 * (chosen on validation data) in the same order.
 */
export interface ModelOutput {
  kind: 'gaussian' | 'probabilities' | 'binary';
  labels: readonly string[];
  thresholds?: readonly number[];
}

export interface ModelContract {
  name: string;
  version: number;
  input: { name: string; size: number; layout: 'NCHW'; channels: 'RGB'; range: [number, number] };
  crop: CropGeometry;
  /**
   * Where BlazeFace's eye keypoints land in the crop. They sit closer together than the eye
   * centres the crop convention (and so the training crops) assume; the runtime aligns with this
   * geometry so that its crops frame a face as training did. Absent: `crop`.
   */
  detectorEyes?: CropGeometry;
  datasetEyes: Record<DatasetName, CropGeometry>;
  outputs: Record<string, ModelOutput>;
  files: { int8: string; fp32: string };
}

/** The package's `models/` folder, wherever the code runs from (src/ or dist/, any cwd). */
export const MODELS_DIR = fileURLToPath(new URL('../../models/', import.meta.url));

export function loadContract(path = `${MODELS_DIR}facemtl.json`): ModelContract {
  return JSON.parse(readFileSync(path, 'utf8')) as ModelContract;
}
