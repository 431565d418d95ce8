/**
 * Label stability of a tracked video: how often each track's shown label changes, per second of
 * the track being in view. Flicker shows up as many changes; a steady face should have ~0.
 * Pure code, used by the benchmark and the tests.
 */
import type { FrameResult, TrackedFace } from './analyzer.js';

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
