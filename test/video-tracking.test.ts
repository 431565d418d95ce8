import { describe, expect, it } from 'vitest';
import { loadContract } from '../src/attributes/contract.js';
import type { RawOutputs } from '../src/attributes/decode.js';
import type { Box } from '../src/detect/blazeface.js';
import type { FrameResult, TrackedFace } from '../src/video/analyzer.js';
import { OutputAverage } from '../src/video/smoother.js';
import { labelStability, runAgreement } from '../src/video/stability.js';
import { FaceTracker, greedyMatches } from '../src/video/tracker.js';

const box = (x: number, y: number, size = 40): Box => ({ x, y, width: size, height: size });

describe('greedyMatches', () => {
  it('pairs each detection with the track it overlaps most, each used once', () => {
    const tracks = [box(0, 0), box(100, 0)];
    const detections = [box(102, 2), box(3, 1), box(300, 300)];
    expect(greedyMatches(tracks, detections, 0.3).sort()).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });

  it('prefers the best overlap when two detections compete for one track', () => {
    const matches = greedyMatches([box(0, 0)], [box(15, 0), box(2, 0)], 0.1);
    expect(matches).toEqual([[0, 1]]);
  });
});

describe('FaceTracker', () => {
  it('keeps one id per face while it moves, and gives new faces new ids', () => {
    const tracker = new FaceTracker();
    const first = tracker.update(0, [box(0, 0), box(200, 0)]).trackIds;
    expect(first).toEqual([1, 2]);
    // Detections come in any order; faces move 8 px per frame.
    for (let frame = 1; frame <= 10; frame++) {
      const { trackIds } = tracker.update(frame, [box(200 - 8 * frame, 0), box(8 * frame, 0)]);
      expect(trackIds).toEqual([2, 1]);
    }
    expect(tracker.update(11, [box(88, 0), box(112, 0), box(400, 400)]).trackIds).toEqual([1, 2, 3]);
  });

  it('follows a face too fast for plain IoU by predicting it on its velocity', () => {
    // 12 px, then 24 px per frame on a 40 px box: from the third frame on, consecutive boxes
    // overlap by IoU 0.25 < minIou 0.3, but the predicted box lies on the face.
    const positions = [0, 12, 36, 60, 84, 108];
    const ids = (velocitySmoothing: number) => {
      const tracker = new FaceTracker({ minIou: 0.3, velocitySmoothing });
      return positions.map((x, frame) => tracker.update(frame, [box(x, 0)]).trackIds[0]);
    };
    expect(ids(1)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(new Set(ids(0)).size).toBeGreaterThan(1); // without velocity the track breaks
  });

  it('ends a track after maxMissed updates without its face, and not before', () => {
    const tracker = new FaceTracker({ maxMissed: 2 });
    tracker.update(0, [box(0, 0)]);
    expect(tracker.update(1, []).ended).toEqual([]);
    expect(tracker.update(2, []).ended).toEqual([]);
    const { ended } = tracker.update(3, []);
    expect(ended.map((t) => t.id)).toEqual([1]);
    expect(tracker.tracks).toEqual([]);
    // The face coming back later is a new track.
    expect(tracker.update(4, [box(0, 0)]).trackIds).toEqual([2]);
  });

  it('re-finds a face after missed frames within maxMissed under the same id', () => {
    const tracker = new FaceTracker({ maxMissed: 3 });
    tracker.update(0, [box(0, 0)]);
    tracker.update(1, []);
    tracker.update(2, []);
    expect(tracker.update(3, [box(2, 1)]).trackIds).toEqual([1]);
  });

  it('moves tracks on their velocity between detector runs (predict)', () => {
    const tracker = new FaceTracker({ velocitySmoothing: 1 });
    tracker.update(0, [box(0, 0)]);
    tracker.update(3, [box(15, 0)]); // 5 px per frame, measured over 3 frames
    const [track] = tracker.predict();
    expect(track.box.x).toBeCloseTo(20);
    expect(track.missed).toBe(0);
  });

  it('rejects bad options', () => {
    expect(() => new FaceTracker({ minIou: 0 })).toThrow(/minIou/);
    expect(() => new FaceTracker({ maxMissed: -1 })).toThrow(/maxMissed/);
    expect(() => new FaceTracker({ maxMissed: undefined }).update(0, [box(0, 0)])).not.toThrow();
  });
});

const contract = loadContract();
const emotions = contract.outputs.emotion.labels;

function raw(emotion: string, age: [number, number]): RawOutputs {
  const probabilities = emotions.map((label) => (label === emotion ? 0.6 : 0.4 / (emotions.length - 1)));
  return { emotion: probabilities, age, gender: [0.5, 0.5] };
}

describe('OutputAverage', () => {
  it('with alpha 1 returns the latest frame (no smoothing)', () => {
    const average = new OutputAverage(contract.outputs, 1);
    average.add(raw('happy', [30, 5]));
    average.add(raw('sad', [50, 5]));
    expect(average.value()!.emotion).toEqual(raw('sad', [50, 5]).emotion);
    expect(average.value()!.age[0]).toBeCloseTo(50);
  });

  it('keeps the smoothed label through a one-frame flicker', () => {
    const average = new OutputAverage(contract.outputs, 0.3);
    for (let i = 0; i < 5; i++) average.add(raw('happy', [30, 5]));
    average.add(raw('sad', [30, 5]));
    const smoothed = average.value()!.emotion;
    expect(emotions[smoothed.indexOf(Math.max(...smoothed))]).toBe('happy');
    // still a probability distribution
    expect(smoothed.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
  });

  it('weights frames by confidence, and ages by precision (1/std²)', () => {
    const average = new OutputAverage(contract.outputs, 0);
    average.add(raw('happy', [20, 2]), 1);
    average.add(raw('sad', [60, 20]), 1); // 100× less precise: barely moves the age
    expect(average.value()!.age[0]).toBeLessThan(21);
    const byScore = new OutputAverage(contract.outputs, 0);
    byScore.add(raw('happy', [30, 5]), 0.9);
    byScore.add(raw('sad', [30, 5]), 0.1);
    const emotion = byScore.value()!.emotion;
    expect(emotion[emotions.indexOf('happy')]).toBeCloseTo(0.9 * 0.6 + 0.1 * (0.4 / 7), 5);
  });

  it('returns undefined before any frame and rejects alpha outside 0–1', () => {
    expect(new OutputAverage(contract.outputs).value()).toBeUndefined();
    expect(() => new OutputAverage(contract.outputs, 1.5)).toThrow(RangeError);
  });
});

describe('labelStability', () => {
  const face = (id: number, emotion: string) =>
    ({ id, emotion: { label: emotion } }) as unknown as TrackedFace;
  const frame = (time: number, faces: TrackedFace[]) =>
    ({ frame: time, time, detected: true, faces }) as FrameResult;

  it('counts label changes per track and divides by track time', () => {
    const frames = [
      frame(0, [face(1, 'happy'), face(2, 'sad')]),
      frame(1, [face(1, 'sad'), face(2, 'sad')]),
      frame(2, [face(1, 'happy'), face(2, 'sad')]),
    ];
    expect(labelStability(frames, 'emotion')).toEqual({
      changes: 2,
      trackSeconds: 4,
      changesPerTrackSecond: 0.5,
      tracks: 2,
    });
  });

  it('counts a yes/no attribute’s decision changes, and skips faces without it', () => {
    const smiling = (id: number, present?: boolean) =>
      ({
        id,
        emotion: { label: 'happy' },
        ...(present === undefined ? {} : { attributes: { smile: { probability: 0.5, present } } }),
      }) as unknown as TrackedFace;
    const frames = [
      frame(0, [smiling(1, true), smiling(2)]),
      frame(1, [smiling(1, false), smiling(2)]),
      frame(2, [smiling(1, false), smiling(2)]),
      frame(4, [smiling(1, true), smiling(2)]),
    ];
    expect(labelStability(frames, 'smile')).toEqual({
      changes: 2,
      trackSeconds: 4,
      changesPerTrackSecond: 0.5,
      tracks: 1,
    });
    expect(labelStability(frames, 'emotion').tracks).toBe(2);
  });
});

describe('runAgreement', () => {
  const face = (id: number, x: number, emotion: string) =>
    ({ id, box: box(x, 0), emotion: { label: emotion } }) as unknown as TrackedFace;
  const frame = (index: number, faces: TrackedFace[]) =>
    ({ frame: index, time: index, detected: true, faces }) as FrameResult;

  it('counts ID switches and label agreement against the reference run', () => {
    const reference = [
      frame(0, [face(1, 0, 'happy'), face(2, 200, 'sad')]),
      frame(1, [face(1, 4, 'happy'), face(2, 196, 'sad')]),
      frame(2, [face(1, 8, 'happy'), face(2, 192, 'sad')]),
    ];
    const run = [
      frame(0, [face(7, 1, 'happy'), face(8, 201, 'sad')]),
      // track 7 lost its face, which came back as track 9; face 2 shows another label
      frame(1, [face(9, 4, 'happy'), face(8, 196, 'happy')]),
      frame(2, [face(9, 8, 'happy')]), // face 2 missed
    ];
    expect(runAgreement(reference, run, ['emotion'])).toEqual({
      referenceFaces: 6,
      matchedFaces: 5,
      idSwitches: 1,
      labelAgreement: { emotion: 4 / 5 },
    });
    expect(runAgreement(reference, reference, ['emotion'])).toMatchObject({
      matchedFaces: 6,
      idSwitches: 0,
      labelAgreement: { emotion: 1 },
    });
  });
});
