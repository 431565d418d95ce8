/**
 * The progress line of every long command (analyze, eval, bench, video, submit): on stderr,
 * redrawn in place, with count, rate, and — when the total is known — a bar, percentage and ETA.
 * Silent when stderr is not a terminal (pipes, CI logs, tests).
 *
 * Hand-written rather than `cli-progress`: it is shorter than the glue that library needs for an
 * unknown total (eval streams datasets) and for lines printed between updates (analyze's table),
 * and it is tested (test/progress.test.ts).
 */

export interface ProgressOptions {
  /** Shown first, e.g. `analyze` or `eval utkface`. */
  label: string;
  /** Items in all, when known: adds a bar, the percentage and an ETA. */
  total?: number;
  /** What is counted, plural (default `items`). */
  unit?: string;
  /** `false` turns it off (e.g. `--no-progress`); it is always off when `stream` is not a terminal. */
  enabled?: boolean;
  /** Default `process.stderr`. */
  stream?: ProgressStream;
  /** Least time between redraws, ms (default 250). A redraw after `clear()` is never delayed. */
  intervalMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** The part of a `tty.WriteStream` the line needs. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const BAR_WIDTH = 20;

export class Progress {
  private count = 0;
  private note = '';
  private lastDraw = -Infinity;
  private visible = false;
  private readonly started: number;
  private readonly enabled: boolean;
  private readonly stream: ProgressStream;
  private readonly now: () => number;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.enabled = options.enabled !== false && Boolean(this.stream.isTTY);
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
  }

  /** Sets the number done so far, and optionally a short note (e.g. `3 skipped`). */
  update(done: number, note?: string): void {
    this.count = done;
    if (note !== undefined) this.note = note;
    if (!this.enabled) return;
    const now = this.now();
    if (this.visible && now - this.lastDraw < (this.options.intervalMs ?? 250)) return;
    this.lastDraw = now;
    this.visible = true;
    this.stream.write(`\r${this.line(now)}\x1b[K`);
  }

  /** One more done. */
  tick(note?: string): void {
    this.update(this.count + 1, note);
  }

  /** Erases the line, so that other output starts on a clean one; the next update redraws it. */
  clear(): void {
    if (!this.visible) return;
    this.stream.write('\r\x1b[K');
    this.visible = false;
  }

  /** The end: erases the line. */
  done(): void {
    this.clear();
  }

  /** The text of the line at time `now` (ms, the clock of `options.now`). */
  line(now = this.now()): string {
    const { label, total, unit = 'items' } = this.options;
    const seconds = Math.max(1e-3, (now - this.started) / 1000);
    const rate = this.count / seconds;
    const parts = [label];
    if (total && total > 0) {
      const fraction = Math.min(1, this.count / total);
      const filled = Math.round(fraction * BAR_WIDTH);
      parts.push(
        `[${'='.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}]`,
        `${this.count}/${total} ${unit}`,
        `${Math.floor(fraction * 100)}%`,
        `${rate.toFixed(1)}/s`,
        `ETA ${rate > 0 ? clock((total - this.count) / rate) : '?'}`,
      );
    } else {
      parts.push(`${this.count} ${unit}`, `${rate.toFixed(1)}/s`, `${clock(seconds)} elapsed`);
    }
    if (this.note) parts.push(this.note);
    const text = parts.join('  ');
    const columns = this.stream.columns ?? 0;
    return columns > 1 && text.length >= columns ? text.slice(0, columns - 1) : text;
  }
}

/** `m:ss` or `h:mm:ss`. */
export function clock(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const [h, m, s] = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60), whole % 60];
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}
