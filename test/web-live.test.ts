import { describe, expect, it } from 'vitest';
import type { RawOutputs } from '../src/attributes/decode.js';
import type { Box } from '../src/detect/blazeface.js';
import { LiveAttributes } from '../web/src/live.js';

const box = (x: number, y = 0, size = 40): Box => ({ x, y, width: size, height: size });
const outputs = (tag: number): RawOutputs => ({ age: [tag] });

/** One frame: plans, then "runs the model" (outputs tagged with the frame) where the plan says. */
function frame(live: LiveAttributes, boxes: Box[], tag: number) {
  const plan = live.plan(boxes);
  for (const index of plan.run) plan.store(index, outputs(tag));
  return plan;
}

describe('LiveAttributes (the browser demo live loop)', () => {
  it('runs the model on new faces at once, then on the oldest face each frame', () => {
    const live = new LiveAttributes(1);
    const faces = [box(0), box(100), box(200)];
    expect(frame(live, faces, 0).run).toEqual([0, 1, 2]);
    const runs = [1, 2, 3, 4, 5, 6].map((tag) => frame(live, faces, tag).run);
    // Each face re-estimated every third frame, one per frame.
    expect(runs.map((run) => run.length)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(new Set(runs.slice(0, 3).flat())).toEqual(new Set([0, 1, 2]));
    expect(runs.slice(3)).toEqual(runs.slice(0, 3));
  });

  it('gives the faces it does not run the outputs stored for them', () => {
    const live = new LiveAttributes(1);
    frame(live, [box(0), box(100)], 0);
    const plan = live.plan([box(102), box(2)]); // both moved a little, listed the other way round
    expect(plan.run).toHaveLength(1);
    const keptIndex = plan.run[0] === 0 ? 1 : 0;
    expect(plan.kept[keptIndex]).toEqual(outputs(0));
    expect(plan.kept[plan.run[0]]).toBeUndefined();
  });

  it('adds a face that appears to the frame’s run, besides the refresh', () => {
    const live = new LiveAttributes(1);
    frame(live, [box(0)], 0);
    expect(frame(live, [box(0), box(300)], 1).run).toEqual([0, 1]);
    expect(frame(live, [box(0), box(300)], 2).run).toHaveLength(1);
  });

  it('treats a face lost for more than a few frames as new', () => {
    const live = new LiveAttributes(0);
    frame(live, [box(0)], 0);
    expect(frame(live, [box(0)], 1).run).toEqual([]);
    for (let tag = 2; tag < 9; tag++) frame(live, [], tag);
    expect(frame(live, [box(0)], 9).run).toEqual([0]);
  });

  it('runs every face every frame with refreshPerFrame = Infinity, and rejects a negative count', () => {
    const live = new LiveAttributes(Infinity);
    frame(live, [box(0), box(100)], 0);
    expect(frame(live, [box(0), box(100)], 1).run).toEqual([0, 1]);
    expect(() => new LiveAttributes(-1)).toThrow(RangeError);
  });
});
