import { describe, expect, it } from 'vitest';
import { clock, Progress, type ProgressStream } from '../src/cli/progress.js';

/** A fake terminal (or not) that records what is written, with a clock the test moves. */
function terminal(isTTY = true, columns = 200) {
  const writes: string[] = [];
  const stream: ProgressStream = { isTTY, columns, write: (text: string) => writes.push(text) };
  let now = 0;
  return { stream, writes, now: () => now, advance: (ms: number) => (now += ms) };
}

describe('Progress', () => {
  it('with a total: bar, count, percentage, rate and ETA, redrawn in place', () => {
    const t = terminal();
    const progress = new Progress({
      label: 'analyze',
      total: 10,
      unit: 'images',
      stream: t.stream,
      now: t.now,
    });
    t.advance(2000);
    progress.update(4);
    expect(t.writes).toEqual(['\ranalyze  [========            ]  4/10 images  40%  2.0/s  ETA 0:03\x1b[K']);
  });

  it('without a total: count, rate and elapsed time, and a note', () => {
    const t = terminal();
    const progress = new Progress({ label: 'eval utkface', stream: t.stream, now: t.now });
    t.advance(65_000);
    progress.update(130, '2 skipped');
    expect(t.writes.at(-1)).toBe('\reval utkface  130 items  2.0/s  1:05 elapsed  2 skipped\x1b[K');
  });

  it('redraws at most every intervalMs, but at once after clear()', () => {
    const t = terminal();
    const progress = new Progress({ label: 'x', total: 100, stream: t.stream, now: t.now, intervalMs: 250 });
    progress.tick();
    t.advance(100);
    progress.tick(); // too soon: not drawn
    expect(t.writes).toHaveLength(1);
    progress.clear();
    expect(t.writes.at(-1)).toBe('\r\x1b[K');
    progress.tick(); // the line is gone: drawn now
    expect(t.writes).toHaveLength(3);
    expect(t.writes.at(-1)).toContain('3/100');
    progress.done();
    progress.done(); // nothing left to erase
    expect(t.writes).toHaveLength(4);
  });

  it('is silent when the stream is not a terminal, or when disabled', () => {
    for (const [isTTY, enabled] of [
      [false, true],
      [true, false],
    ]) {
      const t = terminal(isTTY);
      const progress = new Progress({ label: 'x', total: 3, stream: t.stream, enabled });
      progress.tick();
      progress.clear();
      progress.done();
      expect(t.writes).toEqual([]);
    }
  });

  it('fits the line into the terminal width', () => {
    const t = terminal(true, 30);
    const progress = new Progress({
      label: 'a long label for a narrow terminal',
      total: 5,
      stream: t.stream,
      now: t.now,
    });
    progress.tick();
    expect(t.writes[0]).toBe(`\r${'a long label for a narrow terminal'.slice(0, 29)}\x1b[K`);
  });

  it('clock: m:ss and h:mm:ss', () => {
    expect([clock(0), clock(59.6), clock(61), clock(3600 + 62)]).toEqual(['0:00', '1:00', '1:01', '1:01:02']);
  });
});
