/**
 * Face tracking across video frames: each detection is matched to the track whose predicted box
 * overlaps it most (greedy on IoU, best pairs first), so a person keeps one `id` while in view.
 * Tracks that find no detection are carried forward on their velocity and expire after `maxMissed`
 * frames. Pure code (no Node imports).
 */
import { iou, type Box } from '../detect/blazeface.js';

export interface TrackerOptions {
  /** Minimum IoU between a track's predicted box and a detection to match them (default 0.3). */
  minIou?: number;
  /** A track ends after this many frames in a row without a matching detection (default 15). */
  maxMissed?: number;
  /** How much of the latest box change enters the velocity estimate, 0–1 (default 0.5). */
  velocitySmoothing?: number;
}

export const DEFAULT_TRACKER_OPTIONS: Readonly<Required<TrackerOptions>> = {
  minIou: 0.3,
  maxMissed: 15,
  velocitySmoothing: 0.5,
};

export interface Track {
  /** Stable id, counting from 1 in order of appearance. */
  readonly id: number;
  /** Latest box: the matched detection's, or the prediction while no detection matches. */
  box: Box;
  /** The box of the latest matched detection. */
  matchedBox: Box;
  /** Box change per frame (x, y, width, height), smoothed. */
  velocity: Box;
  /** Frame index of the first and latest matched detection. */
  firstFrame: number;
  lastFrame: number;
  /** Frames in a row without a match (0 when matched in the latest update). */
  missed: number;
  /** Detections matched so far. */
  hits: number;
}

/** One `update`'s outcome: which track each detection went to, and which tracks ended. */
export interface TrackUpdate {
  /** `trackIds[i]` is the id of the track detection `i` belongs to (a new track when unmatched). */
  trackIds: number[];
  /** Tracks that expired in this update (missed more than `maxMissed` frames). */
  ended: Track[];
}

export class FaceTracker {
  private readonly options: Required<TrackerOptions>;
  private readonly live = new Map<number, Track>();
  private nextId = 1;

  constructor(options: TrackerOptions = {}) {
    const given = Object.entries(options).filter(([, value]) => value !== undefined);
    this.options = { ...DEFAULT_TRACKER_OPTIONS, ...Object.fromEntries(given) };
    const { minIou, maxMissed, velocitySmoothing } = this.options;
    if (!(minIou > 0 && minIou <= 1)) throw new RangeError(`minIou must be in (0, 1], not ${minIou}`);
    if (!Number.isInteger(maxMissed) || maxMissed < 0)
      throw new RangeError(`maxMissed must be an integer ≥ 0, not ${maxMissed}`);
    if (!(velocitySmoothing >= 0 && velocitySmoothing <= 1))
      throw new RangeError(`velocitySmoothing must be in 0–1, not ${velocitySmoothing}`);
  }

  /** The tracks now in view (matched or still within `maxMissed`), oldest first. */
  get tracks(): Track[] {
    return [...this.live.values()];
  }

  /**
   * Advances one frame. `boxes` are this frame's detections; tracks not matched are moved on their
   * velocity (so pass `[]` on frames where the detector does not run and use `predict` instead).
   */
  update(frame: number, boxes: readonly Box[]): TrackUpdate {
    const tracks = this.tracks;
    const predicted = tracks.map((track) => shift(track.box, track.velocity));
    const trackIds = new Array<number>(boxes.length).fill(0);
    const matchedTracks = new Set<number>();
    for (const [t, d] of greedyMatches(predicted, boxes, this.options.minIou)) {
      this.observe(tracks[t], boxes[d], frame);
      trackIds[d] = tracks[t].id;
      matchedTracks.add(t);
    }
    const ended: Track[] = [];
    tracks.forEach((track, t) => {
      if (matchedTracks.has(t)) return;
      track.missed += 1;
      track.box = predicted[t];
      if (track.missed > this.options.maxMissed) {
        this.live.delete(track.id);
        ended.push(track);
      }
    });
    boxes.forEach((box, d) => {
      if (trackIds[d] === 0) trackIds[d] = this.start(box, frame).id;
    });
    return { trackIds, ended };
  }

  /**
   * Moves every track on its velocity without counting a miss: for frames the detector skips
   * (`--detect-every`). Returns the tracks with their predicted boxes.
   */
  predict(): Track[] {
    for (const track of this.live.values()) track.box = shift(track.box, track.velocity);
    return this.tracks;
  }

  /** Ends every track (end of the video) and returns them. */
  finish(): Track[] {
    const tracks = this.tracks;
    this.live.clear();
    return tracks;
  }

  private start(box: Box, frame: number): Track {
    const track: Track = {
      id: this.nextId++,
      box: { ...box },
      matchedBox: { ...box },
      velocity: { x: 0, y: 0, width: 0, height: 0 },
      firstFrame: frame,
      lastFrame: frame,
      missed: 0,
      hits: 1,
    };
    this.live.set(track.id, track);
    return track;
  }

  private observe(track: Track, box: Box, frame: number): void {
    // Velocity per frame since the last match (frames may have been skipped in between).
    const frames = Math.max(1, frame - track.lastFrame);
    const a = this.options.velocitySmoothing;
    track.velocity = mix(track.velocity, scale(delta(track.matchedBox, box), 1 / frames), a);
    track.box = { ...box };
    track.matchedBox = { ...box };
    track.lastFrame = frame;
    track.missed = 0;
    track.hits += 1;
  }
}

/**
 * Greedy assignment: all (track, detection) pairs with IoU ≥ `minIou`, best IoU first, each track
 * and each detection used once. For the few faces of a frame this equals the Hungarian optimum in
 * practice and is simpler.
 */
export function greedyMatches(
  tracks: readonly Box[],
  detections: readonly Box[],
  minIou: number,
): [number, number][] {
  const pairs: { t: number; d: number; overlap: number }[] = [];
  tracks.forEach((trackBox, t) =>
    detections.forEach((box, d) => {
      const overlap = iou(trackBox, box);
      if (overlap >= minIou) pairs.push({ t, d, overlap });
    }),
  );
  pairs.sort((a, b) => b.overlap - a.overlap);
  const usedTracks = new Set<number>();
  const usedDetections = new Set<number>();
  const matches: [number, number][] = [];
  for (const { t, d } of pairs) {
    if (usedTracks.has(t) || usedDetections.has(d)) continue;
    usedTracks.add(t);
    usedDetections.add(d);
    matches.push([t, d]);
  }
  return matches;
}

function shift(box: Box, velocity: Box): Box {
  return {
    x: box.x + velocity.x,
    y: box.y + velocity.y,
    width: Math.max(1, box.width + velocity.width),
    height: Math.max(1, box.height + velocity.height),
  };
}

function delta(from: Box, to: Box): Box {
  return {
    x: to.x - from.x,
    y: to.y - from.y,
    width: to.width - from.width,
    height: to.height - from.height,
  };
}

function scale(box: Box, factor: number): Box {
  return { x: box.x * factor, y: box.y * factor, width: box.width * factor, height: box.height * factor };
}

function mix(old: Box, latest: Box, weight: number): Box {
  const blend = (a: number, b: number) => a + (b - a) * weight;
  return {
    x: blend(old.x, latest.x),
    y: blend(old.y, latest.y),
    width: blend(old.width, latest.width),
    height: blend(old.height, latest.height),
  };
}
