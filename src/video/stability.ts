/**
 * Label stability of a tracked video: how often each track's shown label changes, per second of
 * the track being in view. Flicker shows up as many changes; a steady face should have ~0. And
 * how one run of a video agrees with another (ID switches, same labels), for the cost of running
 * the models on fewer frames.
 * Pure code, used by the benchmark and the tests.
 */
import type { FrameResult, TrackedFace } from './analyzer.js';
import { greedyMatches } from './tracker.js';

/**
 * A head's label, or a yes/no attribute by name (`smile`, `eyeglasses`, …) whose label is its
 * decision (`present`); faces without that attribute are left out.
 */
export type LabelAttribute = 'gender' | 'ethnicity' | 'emotion' | (string & {});

const HEADS = new Set(['gender', 'ethnicity', 'emotion']);

/** The label a face shows for `attribute`, or undefined when it has no such attribute. */
function shownLabel(face: TrackedFace, attribute: LabelAttribute): string | undefined {
  if (HEADS.has(attribute)) return face[attribute as 'gender' | 'ethnicity' | 'emotion'].label;
  const decision = face.attributes?.[attribute]?.present;
  return decision === undefined ? undefined : decision ? 'yes' : 'no';
}

export interface LabelStability {
  /** Label changes between consecutive frames of the same track, summed over tracks. */
  changes: number;
  /** Seconds of track time (per track: last time − first time), summed over tracks. */
  trackSeconds: number;
  /** `changes / trackSeconds` (0 when no track lasted any time). */
  changesPerTrackSecond: number;
  tracks: number;
}

export function labelStability(frames: Iterable<FrameResult>, attribute: LabelAttribute): LabelStability {
  const tracks = new Map<number, { label: string; first: number; last: number; changes: number }>();
  for (const { time, faces } of frames) {
    for (const face of faces) {
      const label = shownLabel(face, attribute);
      if (label === undefined) continue;
      const track = tracks.get(face.id);
      if (!track) {
        tracks.set(face.id, { label, first: time, last: time, changes: 0 });
        continue;
      }
      if (label !== track.label) track.changes += 1;
      track.label = label;
      track.last = time;
    }
  }
  let changes = 0;
  let trackSeconds = 0;
  for (const track of tracks.values()) {
    changes += track.changes;
    trackSeconds += track.last - track.first;
  }
  return {
    changes,
    trackSeconds,
    changesPerTrackSecond: trackSeconds > 0 ? changes / trackSeconds : 0,
    tracks: tracks.size,
  };
}

/** How a run's tracks and labels compare with a reference run over the same frames. */
export interface RunAgreement {
  /** Faces in the reference frames, and how many of them the run has too (IoU ≥ `minIou`). */
  referenceFaces: number;
  matchedFaces: number;
  /**
   * Identity switches (as in the MOT benchmarks): a reference track matched to a different track
   * of the run than at its previous match.
   */
  idSwitches: number;
  /** Per label attribute: the share of matched faces that show the reference's label, 0–1. */
  labelAgreement: Record<string, number>;
}

/**
 * Compares `run` with `reference` (e.g. the models on every Nth frame vs on every frame of the
 * same video): faces of the same frame are paired by box overlap (best first, IoU ≥ `minIou`),
 * then ID switches and label agreement are counted over the pairs.
 */
export function runAgreement(
  reference: Iterable<FrameResult>,
  run: Iterable<FrameResult>,
  attributes: readonly LabelAttribute[],
  minIou = 0.5,
): RunAgreement {
  const runFrames = new Map<number, FrameResult>();
  for (const result of run) runFrames.set(result.frame, result);
  const lastMatch = new Map<number, number>();
  const agree = new Map<string, { same: number; total: number }>(
    attributes.map((name) => [name, { same: 0, total: 0 }]),
  );
  let referenceFaces = 0;
  let matchedFaces = 0;
  let idSwitches = 0;
  for (const expected of reference) {
    referenceFaces += expected.faces.length;
    const faces = runFrames.get(expected.frame)?.faces ?? [];
    const pairs = greedyMatches(
      expected.faces.map((face) => face.box),
      faces.map((face) => face.box),
      minIou,
    );
    for (const [r, c] of pairs) {
      const [want, got] = [expected.faces[r], faces[c]];
      matchedFaces += 1;
      const previous = lastMatch.get(want.id);
      if (previous !== undefined && previous !== got.id) idSwitches += 1;
      lastMatch.set(want.id, got.id);
      for (const [name, count] of agree) {
        const label = shownLabel(want, name);
        if (label === undefined) continue;
        count.total += 1;
        if (shownLabel(got, name) === label) count.same += 1;
      }
    }
  }
  const labelAgreement = Object.fromEntries(
    [...agree].filter(([, c]) => c.total > 0).map(([name, c]) => [name, c.same / c.total]),
  );
  return { referenceFaces, matchedFaces, idSwitches, labelAgreement };
}
