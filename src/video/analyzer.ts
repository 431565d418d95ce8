/**
 * `VideoAnalyzer`: faces and attributes in a stream of frames, with a stable id per person and
 * smoothed attributes per track.
 *
 *   const video = await VideoAnalyzer.create({ detectEvery: 3 });
 *   for await (const result of video.analyzeFrames(readVideoFrames('clip.mp4'))) console.log(result);
 *   console.log(video.finish()); // one summary per track
 *   await video.dispose();
 *
 * Every `detectEvery` frames the detector and the attribute model run (one batch for all faces) and
 * detections are matched to tracks (tracker.ts); on the frames in between no model runs: tracks
 * move on their velocity and keep their smoothed attributes.
 */
import type { ModelContract } from '../attributes/contract.js';
import { decodeAttributes, type FaceAttributes, type RawOutputs } from '../attributes/decode.js';
import type { Box } from '../detect/blazeface.js';
import type { RgbImage } from '../image/types.js';
import { FaceAnalyzer, type FaceAnalyzerOptions } from '../pipeline/index.js';
import { DEFAULT_SMOOTHING, OutputAverage } from './smoother.js';
import { FaceTracker, type Track, type TrackerOptions } from './tracker.js';

export interface VideoAnalyzerOptions extends FaceAnalyzerOptions, TrackerOptions {
  /** Run the detector and attribute model on every Nth frame, track in between (default 1). */
  detectEvery?: number;
  /**
   * Weight of the newest frame in each track's attribute average, 0–1 (default 0.3); 1 turns
   * smoothing off (every detection's own attributes).
   */
  smoothing?: number;
  /** Frame rate for the `time` of frames that carry none (default 30). */
  fps?: number;
}

/**
 * One face in one frame. Frames between detections reuse the attribute objects (`age`, `gender`,
 * …) of the latest detection's frame: treat results as read-only.
 */
export interface TrackedFace extends Omit<FaceAttributes, 'emotionFer2013'> {
  /** The track: the same person keeps the same id while in view. */
  id: number;
  /** In frame pixels: the detection's box, or the track's prediction on frames without detection. */
  box: Box;
  /** Detection score of the latest matched detection. */
  score: number;
}

export interface FrameResult {
  /** Frame number, from 0. */
  frame: number;
  /** Seconds from the start. */
  time: number;
  /** Whether the detector ran on this frame (else boxes are predicted, attributes carried over). */
  detected: boolean;
  faces: TrackedFace[];
}

/** A whole track: when it was in view and its attributes averaged over all its detections. */
export interface TrackSummary extends Omit<FaceAttributes, 'emotionFer2013'> {
  id: number;
  firstFrame: number;
  lastFrame: number;
  firstTime: number;
  lastTime: number;
  /** Frames where the detector found this face. */
  detections: number;
}

/** A frame handed to the analyzer: raw RGB pixels, with its index and time when known. */
export type InputFrame = RgbImage & { index?: number; time?: number };

interface TrackState {
  score: number;
  smoothed: OutputAverage;
  /** `smoothed` decoded, kept until the next detection changes it (frames in between reuse it). */
  shown: Omit<FaceAttributes, 'emotionFer2013'> | undefined;
  whole: OutputAverage;
  firstTime: number;
  lastTime: number;
}

export class VideoAnalyzer {
  private readonly tracker: FaceTracker;
  private readonly states = new Map<number, TrackState>();
  private readonly ended: TrackSummary[] = [];
  private readonly detectEvery: number;
  private readonly smoothing: number;
  private readonly fps: number;
  private nextIndex = 0;
  private lastDetectedIndex = -Infinity;

  /** Wraps an existing `FaceAnalyzer` (not disposed by `dispose`); see also `create`. */
  constructor(
    readonly analyzer: FaceAnalyzer,
    options: Omit<VideoAnalyzerOptions, keyof FaceAnalyzerOptions> = {},
    private readonly ownsAnalyzer = false,
  ) {
    this.detectEvery = options.detectEvery ?? 1;
    this.smoothing = options.smoothing ?? DEFAULT_SMOOTHING.alpha;
    this.fps = options.fps ?? 30;
    if (!Number.isInteger(this.detectEvery) || this.detectEvery < 1)
      throw new RangeError(`detectEvery must be a positive integer, not ${this.detectEvery}`);
    if (!(this.fps > 0)) throw new RangeError(`fps must be positive, not ${this.fps}`);
    new OutputAverage({}, this.smoothing); // validates the smoothing weight now, not at the first face
    this.tracker = new FaceTracker(options);
  }

  static async create(options: VideoAnalyzerOptions = {}): Promise<VideoAnalyzer> {
    const { detectEvery, smoothing, fps, minIou, maxMissed, velocitySmoothing, ...analyzerOptions } = options;
    const analyzer = await FaceAnalyzer.create(analyzerOptions);
    try {
      return new VideoAnalyzer(
        analyzer,
        { detectEvery, smoothing, fps, minIou, maxMissed, velocitySmoothing },
        true,
      );
    } catch (error) {
      await analyzer.dispose();
      throw error;
    }
  }

  get contract(): ModelContract {
    return this.analyzer.contract;
  }

  /** Results for every frame of a stream (an array, generator or `readVideoFrames`), in order. */
  async *analyzeFrames(
    frames: AsyncIterable<InputFrame> | Iterable<InputFrame>,
  ): AsyncGenerator<FrameResult> {
    for await (const frame of frames) yield await this.analyzeFrame(frame);
  }

  /** The next frame of the stream. Frames must come in order; `index` defaults to the next one. */
  async analyzeFrame(frame: InputFrame): Promise<FrameResult> {
    const index = frame.index ?? this.nextIndex;
    const time = frame.time ?? index / this.fps;
    this.nextIndex = index + 1;
    const detected = index - this.lastDetectedIndex >= this.detectEvery;
    if (!detected) {
      const tracks = this.tracker.predict().filter((track) => track.missed === 0);
      return { frame: index, time, detected, faces: tracks.map((track) => this.face(track)) };
    }
    this.lastDetectedIndex = index;
    const detections = await this.analyzer.detect(frame);
    const raw = await this.analyzer.model.runRaw(this.analyzer.crops(frame, detections));
    const { trackIds, ended } = this.tracker.update(
      index,
      detections.map((detection) => detection.box),
    );
    trackIds.forEach((id, d) => this.observe(id, raw[d], detections[d].score, time));
    for (const track of ended) this.end(track);
    const live = new Map(this.tracker.tracks.map((track) => [track.id, track]));
    const faces = trackIds.map((id) => this.face(live.get(id)!));
    return { frame: index, time, detected, faces };
  }

  /** Ends every track (the end of the stream) and returns all track summaries, by id. */
  finish(): TrackSummary[] {
    for (const track of this.tracker.finish()) this.end(track);
    return [...this.ended].sort((a, b) => a.id - b.id);
  }

  async dispose(): Promise<void> {
    if (this.ownsAnalyzer) await this.analyzer.dispose();
  }

  private observe(id: number, raw: RawOutputs, score: number, time: number): void {
    let state = this.states.get(id);
    if (!state) {
      state = {
        score,
        smoothed: new OutputAverage(this.contract.outputs, this.smoothing),
        shown: undefined,
        whole: new OutputAverage(this.contract.outputs, 0),
        firstTime: time,
        lastTime: time,
      };
      this.states.set(id, state);
    }
    state.score = score;
    state.lastTime = time;
    state.smoothed.add(raw, score);
    state.shown = undefined;
    state.whole.add(raw, score);
  }

  private face(track: Track): TrackedFace {
    const state = this.states.get(track.id)!;
    const { box } = track;
    return {
      id: track.id,
      box: { x: round1(box.x), y: round1(box.y), width: round1(box.width), height: round1(box.height) },
      score: Math.round(state.score * 1000) / 1000,
      ...(state.shown ??= this.attributes(state.smoothed)),
    };
  }

  private end(track: Track): void {
    const state = this.states.get(track.id);
    if (!state) return;
    this.states.delete(track.id);
    this.ended.push({
      id: track.id,
      firstFrame: track.firstFrame,
      lastFrame: track.lastFrame,
      firstTime: round3(state.firstTime),
      lastTime: round3(state.lastTime),
      detections: track.hits,
      ...this.attributes(state.whole),
    });
  }

  /**
   * The averaged outputs decoded like a single image's: a binary attribute is `present` when its
   * smoothed probability reaches the contract's threshold, so one odd frame does not flip it.
   */
  private attributes(average: OutputAverage): Omit<FaceAttributes, 'emotionFer2013'> {
    const { age, gender, ethnicity, emotion, attributes } = decodeAttributes(average.value()!, this.contract);
    return { age, gender, ethnicity, emotion, ...(attributes ? { attributes } : {}) };
  }
}

const round1 = (value: number) => Math.round(value * 10) / 10;
const round3 = (value: number) => Math.round(value * 1000) / 1000;
