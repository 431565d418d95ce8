/**
 * The platform-independent steps of the pipeline: detections → aligned model crops, and
 * detection + decoded attributes → the `Face` JSON. Pure code (no Node imports), so the Node
 * `FaceAnalyzer` and the browser demo build identical results.
 */
import type { ModelContract } from '../attributes/contract.js';
import { alignCrop } from '../attributes/crop.js';
import type { FaceAttributes, RawOutputs } from '../attributes/decode.js';
import { LANDMARK_NAMES, type Detection, type LandmarkName } from '../detect/blazeface.js';
import type { RgbImage } from '../image/types.js';
import type { Face, Point } from './index.js';

/**
 * The model's input crops (CHW RGB 0–255), one per detection, aligned on its two eyes as BlazeFace
 * places them (`detectorEyes`, see models/README.md).
 */
export function alignedCrops(
  image: RgbImage,
  detections: readonly Detection[],
  contract: Pick<ModelContract, 'input' | 'crop' | 'detectorEyes'>,
): Float32Array[] {
  const geometry = contract.detectorEyes ?? contract.crop;
  return detections.map((detection) =>
    alignCrop(image, detection.keypoints[0], detection.keypoints[1], contract.input.size, geometry),
  );
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/** One face of the result: box and keypoints rounded to 0.1 px, the raw outputs kept out of JSON. */
export function toFace(detection: Detection, attributes: FaceAttributes, raw: RawOutputs): Face {
  const { box, keypoints } = detection;
  const landmarks = Object.fromEntries(
    LANDMARK_NAMES.map((name, index) => [
      name,
      { x: round1(keypoints[index][0]), y: round1(keypoints[index][1]) },
    ]),
  ) as Record<LandmarkName, Point>;
  const face: Face = {
    box: { x: round1(box.x), y: round1(box.y), width: round1(box.width), height: round1(box.height) },
    score: Math.round(detection.score * 1000) / 1000,
    landmarks,
    age: attributes.age,
    gender: attributes.gender,
    ethnicity: attributes.ethnicity,
    emotion: attributes.emotion,
    ...(attributes.attributes ? { attributes: attributes.attributes } : {}),
  };
  Object.defineProperty(face, 'raw', { value: raw, enumerable: false });
  return face;
}
