/** Video: frames from FFmpeg, face tracking, attribute smoothing, annotated output. */
export {
  VideoAnalyzer,
  type FrameResult,
  type InputFrame,
  type TrackedFace,
  type TrackSummary,
  type VideoAnalyzerOptions,
} from './analyzer.js';
export {
  isCameraDevice,
  probeVideo,
  readVideoFrames,
  VideoError,
  VideoWriter,
  type ReadVideoOptions,
  type VideoFrame,
  type VideoInfo,
  type WriteVideoOptions,
} from './ffmpeg.js';
export {
  FaceTracker,
  greedyMatches,
  DEFAULT_TRACKER_OPTIONS,
  type Track,
  type TrackerOptions,
} from './tracker.js';
export { OutputAverage, DEFAULT_SMOOTHING, type SmoothingOptions } from './smoother.js';
export {
  labelStability,
  runAgreement,
  type LabelAttribute,
  type LabelStability,
  type RunAgreement,
} from './stability.js';
export { annotateFrame } from './annotate.js';
