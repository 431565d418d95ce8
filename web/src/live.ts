/**
 * Live video in the demo: the detector runs on every frame, so boxes follow the faces, but a face's
 * attributes (age, gender, emotion, …) change slowly, and the attribute model is the larger half of
 * a frame in WASM (3 faces: ~10 ms of ~16). So a tracker (the `facemtl video` one) follows each
 * face from frame to frame, and the model runs on new faces and on the `refreshPerFrame` faces whose
 * attributes are the oldest; the others keep theirs. With 3 faces and one refresh a frame, each is
 * re-estimated every third frame.
 */
import type { RawOutputs } from '../../src/attributes/decode.js';
import type { Box } from '../../src/detect/blazeface.js';
import { FaceTracker } from '../../src/video/tracker.js';

export interface LivePlan {
  /** Indices of the detections the attribute model runs on this frame. */
  run: number[];
  /** Per detection, the outputs kept from an earlier frame (undefined where the model runs). */
  kept: (RawOutputs | undefined)[];
  /** Stores the model's outputs for detection `index` (one of `run`). */
  store(index: number, raw: RawOutputs): void;
}

export class LiveAttributes {
  // A face lost for a few frames is a new face again: its attributes are estimated afresh.
  private readonly tracker = new FaceTracker({ maxMissed: 5 });
  private readonly latest = new Map<number, { raw: RawOutputs; frame: number }>();
  private frame = 0;

  /** `refreshPerFrame`: faces re-estimated per frame besides new ones; Infinity = every face. */
  constructor(private readonly refreshPerFrame = 1) {
    if (!(refreshPerFrame >= 0)) throw new RangeError(`refreshPerFrame must be ≥ 0, not ${refreshPerFrame}`);
  }

  /** Matches this frame's detections to the tracked faces and decides which need the model. */
  plan(boxes: readonly Box[]): LivePlan {
    const frame = this.frame++;
    const { trackIds, ended } = this.tracker.update(frame, boxes);
    for (const track of ended) this.latest.delete(track.id);

    const known = trackIds.map((id) => this.latest.get(id));
    const oldestFirst = trackIds
      .map((_, index) => index)
      .filter((index) => known[index] !== undefined)
      .sort((a, b) => known[a]!.frame - known[b]!.frame);
    const refreshed = new Set(oldestFirst.slice(0, this.refreshPerFrame));
    const run = trackIds.map((_, index) => index).filter((index) => !known[index] || refreshed.has(index));
    return {
      run,
      kept: known.map((entry, index) => (run.includes(index) ? undefined : entry!.raw)),
      store: (index, raw) => this.latest.set(trackIds[index], { raw, frame }),
    };
  }
}
