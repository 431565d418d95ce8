/**
 * The crop convention of models/README.md: a similarity transform fixed by the two eye centres,
 * sampled bilinearly with edge pixels replicated. `training/facemtl/crop.py` implements the same
 * formula (values rounded to whole numbers like its uint8 output), so training, evaluation and the
 * runtime all see identical crops. Pure code: usable in the browser too.
 */
import type { RgbImage } from '../image/types.js';
import type { CropGeometry, DatasetName, ModelContract } from './contract.js';

export type Point = readonly [number, number];

/**
 * Crops `size`×`size` pixels from `image` so the eyes land at `geometry`'s place.
 * Eyes are in source pixels with pixel centres at `i + 0.5`; `eyeRight` is the eye on the image's
 * left (the subject's right). Returns CHW RGB floats, 0–255.
 */
export function alignCrop(
  image: RgbImage,
  eyeRight: Point,
  eyeLeft: Point,
  size: number,
  geometry: CropGeometry,
): Float32Array {
  const centreX = (eyeRight[0] + eyeLeft[0]) / 2;
  const centreY = (eyeRight[1] + eyeLeft[1]) / 2;
  const deltaX = eyeLeft[0] - eyeRight[0];
  const deltaY = eyeLeft[1] - eyeRight[1];
  const distance = Math.hypot(deltaX, deltaY);
  if (!(distance > 0)) throw new RangeError('alignCrop: the two eyes are at the same place');
  const theta = Math.atan2(deltaY, deltaX);
  const scale = (geometry.eyeDistance * size) / distance; // crop pixels per source pixel
  const cos = Math.cos(theta) / scale;
  const sin = Math.sin(theta) / scale;

  const { data, width, height } = image;
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  // The rotation's terms along a row, computed once per column (the same doubles as inline).
  const columnX = new Float64Array(size);
  const columnY = new Float64Array(size);
  for (let u = 0; u < size; u++) {
    const qx = u + 0.5 - geometry.eyeCenter[0] * size;
    columnX[u] = cos * qx;
    columnY[u] = sin * qx;
  }
  const lastX = width - 1;
  const lastY = height - 1;
  for (let v = 0; v < size; v++) {
    const qy = v + 0.5 - geometry.eyeCenter[1] * size;
    const rowX = sin * qy;
    const rowY = cos * qy;
    for (let u = 0, target = v * size; u < size; u++, target++) {
      // Source position in index space (pixel centres at integers), clamped to the edge pixels.
      const x = clamp(centreX + columnX[u] - rowX - 0.5, 0, lastX);
      const y = clamp(centreY + columnY[u] + rowY - 0.5, 0, lastY);
      const x0 = x | 0; // x >= 0: truncation is floor
      const y0 = y | 0;
      const fx = x - x0;
      const fy = y - y0;
      const i00 = (y0 * width + x0) * 3;
      const i01 = x0 < lastX ? i00 + 3 : i00;
      const i10 = y0 < lastY ? i00 + width * 3 : i00;
      const i11 = i10 + (i01 - i00);
      for (let channel = 0; channel < 3; channel++) {
        const top = data[i00 + channel] * (1 - fx) + data[i01 + channel] * fx;
        const bottom = data[i10 + channel] * (1 - fx) + data[i11 + channel] * fx;
        out[channel * plane + target] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}

function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value;
}

/** The virtual eyes of a dataset's published crops (`datasetEyes`), in the image's pixels. */
export function datasetEyes(
  image: { width: number; height: number },
  geometry: CropGeometry,
): { eyeRight: Point; eyeLeft: Point } {
  const centreX = geometry.eyeCenter[0] * image.width;
  const centreY = geometry.eyeCenter[1] * image.height;
  const half = (geometry.eyeDistance * image.width) / 2;
  return { eyeRight: [centreX - half, centreY], eyeLeft: [centreX + half, centreY] };
}

/** The canonical crop of a dataset image (no landmarks): the contract's crop from its virtual eyes. */
export function datasetCrop(
  image: RgbImage,
  dataset: DatasetName,
  contract: Pick<ModelContract, 'input' | 'crop' | 'datasetEyes'>,
): Float32Array {
  const geometry = contract.datasetEyes[dataset];
  if (!geometry) throw new RangeError(`datasetCrop: unknown dataset "${dataset}"`);
  const { eyeRight, eyeLeft } = datasetEyes(image, geometry);
  return alignCrop(image, eyeRight, eyeLeft, contract.input.size, contract.crop);
}
