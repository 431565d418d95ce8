/**
 * facemtl: face analysis (age, gender, ethnicity, emotion) on ONNX Runtime. Public API.
 */
export {
  FaceAnalyzer,
  type Analysis,
  type Face,
  type FaceAnalyzerOptions,
  type Point,
} from './pipeline/index.js';
export {
  loadImage,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_PIXELS,
  DEFAULT_TIMEOUT_SECONDS,
  type LoadImageOptions,
} from './image/load.js';
export { RASTER_FORMATS, sniffFormat, type ImageFormat } from './image/format.js';
export {
  ImageError,
  type ImageErrorCode,
  type ImageInput,
  type RawImage,
  type RgbImage,
} from './image/types.js';
export { FaceDetector, type DetectorChoice, type DetectorOptions } from './detect/detector.js';
export { LANDMARK_NAMES, type Box, type Detection, type LandmarkName } from './detect/blazeface.js';
export { AttributeModel, type AttributeModelOptions, type Precision } from './attributes/model.js';
export { alignCrop, datasetCrop, datasetEyes } from './attributes/crop.js';
export {
  loadContract,
  MODELS_DIR,
  type CropGeometry,
  type DatasetName,
  type ModelContract,
  type ModelOutput,
} from './attributes/contract.js';
export type {
  AgeEstimate,
  BinaryAttribute,
  BinaryAttributes,
  FaceAttributes,
  LabelEstimate,
  RawOutputs,
} from './attributes/decode.js';
export { evaluateDataset, LAYOUTS, type EvalReport, type EvaluateDatasetOptions } from './eval/index.js';
export { runBench, type BenchOptions } from './bench/index.js';
export type { BenchReport } from './bench/report.js';
export {
  startServer,
  DEFAULT_SERVER_OPTIONS,
  type RunningServer,
  type ServerOptions,
  type StartServerOptions,
} from './server/index.js';
export {
  VideoAnalyzer,
  FaceTracker,
  OutputAverage,
  readVideoFrames,
  probeVideo,
  VideoWriter,
  VideoError,
  annotateFrame,
  labelStability,
  runAgreement,
  type RunAgreement,
  type FrameResult,
  type InputFrame,
  type TrackedFace,
  type TrackSummary,
  type VideoAnalyzerOptions,
  type VideoFrame,
  type TrackerOptions,
} from './video/index.js';
export {
  occlusionMaps,
  regionShares,
  explanationPng,
  type FaceExplanation,
  type HeadMap,
  type OcclusionOptions,
} from './explain/index.js';
