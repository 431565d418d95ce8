/**
 * Where the detector looks: the whole image plus, for small faces in large images, a grid of
 * overlapping tiles; and how the detections of all those regions become one list. Pure code (no
 * Node imports): the Node `FaceDetector` and the browser demo share it, each with its own resizing.
 */
import {
  BLAZEFACE_LAYERS,
  BLAZEFACE_MODELS,
  decodeDetections,
  iou,
  mapDetection,
  weightedNms,
  type Detection,
  type DetectorModel,
  type Letterbox,
} from './blazeface.js';

/** A rectangle of the image, in whole pixels. */
export interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Longer side from which `auto` also searches tiles. */
export const AUTO_TILE_MIN_SIDE = 1000;
/** Tiles overlap by this fraction of their size, so a face on a seam is whole in some tile. */
const TILE_OVERLAP = 0.25;
/** Detections of the same face from the whole image and from tiles merge above this overlap. */
const MERGE_IOU = 0.3;

/**
 * The tile grid to use: `tiles` when given, else 2 with the `auto` detector on images whose longer
 * side is at least AUTO_TILE_MIN_SIDE, else 0 (whole image only).
 */
export function tileGrid(detector: string, tiles: number | undefined, width: number, height: number): number {
  return tiles ?? (detector === 'auto' && Math.max(width, height) >= AUTO_TILE_MIN_SIDE ? 2 : 0);
}

/** The whole image, then `grid`×`grid` overlapping tiles when grid ≥ 2. */
export function detectionRegions(width: number, height: number, grid: number): Region[] {
  const regions: Region[] = [{ left: 0, top: 0, width, height }];
  if (grid < 2) return regions;
  // n tiles with overlap: size·(n − (n−1)·overlap) = side.
  const tileWidth = Math.ceil(width / (grid - (grid - 1) * TILE_OVERLAP));
  const tileHeight = Math.ceil(height / (grid - (grid - 1) * TILE_OVERLAP));
  for (let row = 0; row < grid; row++) {
    for (let column = 0; column < grid; column++) {
      const left = Math.min(width - tileWidth, Math.round(column * tileWidth * (1 - TILE_OVERLAP)));
      const top = Math.min(height - tileHeight, Math.round(row * tileHeight * (1 - TILE_OVERLAP)));
      regions.push({ left: Math.max(0, left), top: Math.max(0, top), width: tileWidth, height: tileHeight });
    }
  }
  return regions;
}

/** How much empty border the zoomed-out retry adds on each side, as a fraction of the image. */
const ZOOM_OUT_MARGIN = 0.25;

/**
 * The whole image with a black border all round: the retry when nothing was found. BlazeFace
 * misses faces that fill the whole picture (a tight face crop or a close-up selfie: 81 of the
 * 2133 UTKFace test images); seen smaller, inside a border, 79 of those 81 are found. The region
 * reaches past the image (negative left/top), so each platform pads with black when it reads it.
 */
export function zoomOutRegion(width: number, height: number): Region {
  const marginX = Math.round(width * ZOOM_OUT_MARGIN);
  const marginY = Math.round(height * ZOOM_OUT_MARGIN);
  return { left: -marginX, top: -marginY, width: width + 2 * marginX, height: height + 2 * marginY };
}

/**
 * A face touching a tile's inner edge is only partly in the tile (its box is unreliable); the tile
 * next to it, or the whole image, sees it whole. `detection` is in letterbox-input pixels.
 */
export function isCutByTileEdge(
  detection: Detection,
  box: Letterbox,
  region: Region,
  image: { width: number; height: number },
): boolean {
  const margin = 2;
  const { x, y, width, height } = detection.box;
  const left = box.padX + margin;
  const top = box.padY + margin;
  const right = box.padX + box.width - margin;
  const bottom = box.padY + box.height - margin;
  return (
    (x < left && region.left > 0) ||
    (y < top && region.top > 0) ||
    (x + width > right && region.left + region.width < image.width) ||
    (y + height > bottom && region.top + region.height < image.height)
  );
}

/**
 * Detections of all regions (in image pixels) → the final list: the same face seen in several
 * regions merged into one (blended, like MediaPipe), small faces dropped, best first, at most
 * `maxFaces`.
 */
export function mergeRegionDetections(
  found: Detection[],
  regionCount: number,
  options: { minFaceSize: number; maxFaces: number },
): Detection[] {
  const merged = regionCount > 1 ? weightedNms(found, MERGE_IOU) : found;
  return merged
    .filter((detection) => detection.box.width >= options.minFaceSize)
    .sort((a, b) => b.score - a.score)
    .slice(0, options.maxFaces);
}

/**
 * One region's BlazeFace outputs (output name → values) → its faces in image pixels: decoded,
 * merged, without those cut by a tile edge, mapped from the letterbox to the image.
 */
export function regionDetections(
  outputs: Readonly<Record<string, { data: unknown }>>,
  box: Letterbox,
  region: Region,
  image: { width: number; height: number },
  minScore: number,
): Detection[] {
  const data = (name: string) => outputs[name].data as Float32Array;
  const detections = decodeDetections(
    BLAZEFACE_LAYERS.map((layer) => data(layer.scores)),
    BLAZEFACE_LAYERS.map((layer) => data(layer.boxes)),
    box.inputSize,
    { minScore },
  );
  return detections
    .filter((detection) => !isCutByTileEdge(detection, box, region, image))
    .map((detection) => mapDetection(detection, box, region.left, region.top));
}

/**
 * The front model's eyes need no refinement once they are this many input pixels apart in its
 * whole-image pass: measured on CelebA faces in 640×480 frames (bench/results/refine-eyes.md),
 * refining then no longer moves the eyes closer to the truth, while below it the refinement
 * halves the error of small faces. (The back model is always refined: its eyes are poor on faces
 * that fill its input.)
 */
export const FRONT_SHARP_EYES = 16;

/** Whether a face that `model` found in `image` is looked at again close up (with `refine` on). */
export function needsRefinement(
  face: Detection,
  model: DetectorModel,
  image: { width: number; height: number },
): boolean {
  if (model !== 'front') return true;
  const scale = BLAZEFACE_MODELS.front.inputSize / Math.max(image.width, image.height);
  const [right, left] = face.keypoints;
  return Math.hypot(left[0] - right[0], left[1] - right[1]) * scale < FRONT_SHARP_EYES;
}

/** The refinement region: a square this many face-box widths wide, centred on the face. */
const REFINE_REGION = 2;
/** A refined detection must overlap the face it refines at least this much. */
const REFINE_MIN_IOU = 0.3;
/** Score threshold inside the refinement region (the face is already known to be there). */
export const REFINE_MIN_SCORE = 0.3;

/**
 * Where to look again at a detected face with the front (128 px) model: a square around it,
 * clipped to the image. The back model's keypoints are poor on faces that fill much of its input
 * (on UTKFace crops it puts the eyes ~25% too close together); the front model, seeing the face
 * close up, places them well.
 */
export function refineRegion(face: Detection, image: { width: number; height: number }): Region {
  const side = face.box.width * REFINE_REGION;
  const centreX = face.box.x + face.box.width / 2;
  const centreY = face.box.y + face.box.height / 2;
  const left = clampInt(centreX - side / 2, 0, image.width - 1);
  const top = clampInt(centreY - side / 2, 0, image.height - 1);
  return {
    left,
    top,
    width: clampInt(centreX + side / 2, left + 1, image.width) - left,
    height: clampInt(centreY + side / 2, top + 1, image.height) - top,
  };
}

/** The face with the box and keypoints of its best re-detection (in image pixels), if there is one. */
export function refinedFace(face: Detection, candidates: readonly Detection[]): Detection {
  let best: Detection | undefined;
  for (const candidate of candidates) {
    if (iou(candidate.box, face.box) > REFINE_MIN_IOU && (!best || candidate.score > best.score))
      best = candidate;
  }
  return best ? { box: best.box, keypoints: best.keypoints, score: face.score } : face;
}

function clampInt(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, Math.round(value)));
}

/**
 * After refinement two detections of one face (e.g. from the whole image and a tile, too different
 * to merge before) can land on the same place: keep the better one.
 */
export function dropDuplicateFaces(faces: readonly Detection[]): Detection[] {
  const kept: Detection[] = [];
  for (const face of [...faces].sort((a, b) => b.score - a.score)) {
    if (kept.every((other) => iou(other.box, face.box) <= REFINE_MIN_IOU)) kept.push(face);
  }
  return kept;
}

/** How to search an image for faces (the detector options without the platform's own). */
export interface DetectionSettings {
  /** `front`, `back`, or `auto` = back on the whole image plus tiles on large images. */
  detector: DetectorModel | 'auto';
  minScore: number;
  maxFaces: number;
  minFaceSize: number;
  /** Tile grid; undefined = `tileGrid`'s choice. */
  tiles?: number;
  /** Re-detect each face close up with the front model (see `refineRegion`). */
  refine: boolean;
  /** When nothing is found, look once more at the image inside a border (see `zoomOutRegion`). */
  zoomOut: boolean;
}

export const DEFAULT_DETECTION_SETTINGS: Readonly<DetectionSettings> = {
  detector: 'auto',
  minScore: 0.5,
  maxFaces: 100,
  minFaceSize: 0,
  refine: true,
  zoomOut: true,
};

/**
 * Runs one BlazeFace model on one region of the image and returns its faces in image pixels (see
 * `regionDetections`). The only platform-specific step: Node resizes with sharp and runs
 * onnxruntime-node, the browser uses a canvas and onnxruntime-web.
 */
export type RegionDetector = (region: Region, model: DetectorModel, minScore: number) => Promise<Detection[]>;

/**
 * Images up to this size (longer side) are searched with the front model first by `auto`: a small
 * image is most often a face close up (a dataset crop, a portrait, a webcam still), and there the
 * front (short-range) model finds more faces and places their eyes better than the back model
 * plus refinement, in a third of the time (UTKFace test, `facemtl eval --detect`: age MAE 6.35 →
 * 6.14, gender 89.2 → 90.6%; FairFace val 124 → 6 faces missed; docs/library.md has the rest).
 */
export const CLOSE_UP_MAX_SIDE = 512;

/** The models `detectFaces` may run for a detector setting (to load their sessions). */
export function modelsFor(settings: Pick<DetectionSettings, 'detector' | 'refine'>): DetectorModel[] {
  if (settings.detector === 'front') return ['front'];
  // auto: the front model for small images and refinement; back alone only without refinement.
  return settings.detector === 'auto' || settings.refine ? ['back', 'front'] : ['back'];
}

/**
 * The whole face search, the same in Node and in the browser: every region (whole image, tiles),
 * merged, the zoomed-out image if that found nothing, each face refined close up, duplicates
 * dropped, small faces dropped; best first. With `auto`, a small image is first searched with
 * the front model alone (`CLOSE_UP_MAX_SIDE`); the back model's search runs when that finds nothing.
 */
export async function detectFaces(
  image: { width: number; height: number },
  settings: Readonly<DetectionSettings>,
  detectRegion: RegionDetector,
): Promise<Detection[]> {
  const { detector, tiles } = settings;
  const search = (model: DetectorModel, grid: number) =>
    searchImage(image, model, grid, settings, detectRegion);
  if (detector === 'auto' && Math.max(image.width, image.height) <= CLOSE_UP_MAX_SIDE) {
    const close = await search('front', 0);
    if (close.length > 0) return finishFaces(close, 'front', image, settings, detectRegion);
  }
  const model: DetectorModel = detector === 'front' ? 'front' : 'back';
  const faces = await search(model, tileGrid(detector, tiles, image.width, image.height));
  return finishFaces(faces, model, image, settings, detectRegion);
}

/** One model on the whole image and `grid`×`grid` tiles, then zoomed out if that found nothing; merged. */
async function searchImage(
  image: { width: number; height: number },
  model: DetectorModel,
  grid: number,
  { minScore, maxFaces, zoomOut }: Readonly<DetectionSettings>,
  detectRegion: RegionDetector,
): Promise<Detection[]> {
  const regions = detectionRegions(image.width, image.height, grid);
  const found: Detection[] = [];
  for (const region of regions) found.push(...(await detectRegion(region, model, minScore)));
  if (found.length === 0 && zoomOut) {
    found.push(...(await detectRegion(zoomOutRegion(image.width, image.height), model, minScore)));
  }
  return mergeRegionDetections(found, regions.length, { minFaceSize: 0, maxFaces });
}

/** Each face refined close up where `needsRefinement` says so, duplicates and small faces dropped. */
async function finishFaces(
  faces: readonly Detection[],
  model: DetectorModel,
  image: { width: number; height: number },
  { refine, minFaceSize }: Readonly<DetectionSettings>,
  detectRegion: RegionDetector,
): Promise<Detection[]> {
  if (!refine) return faces.filter((face) => face.box.width >= minFaceSize);
  const refined: Detection[] = [];
  for (const face of faces) {
    refined.push(
      needsRefinement(face, model, image)
        ? refinedFace(face, await detectRegion(refineRegion(face, image), 'front', REFINE_MIN_SCORE))
        : face,
    );
  }
  return dropDuplicateFaces(refined).filter((face) => face.box.width >= minFaceSize);
}
