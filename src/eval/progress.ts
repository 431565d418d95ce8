/** A one-line progress counter on stderr, redrawn in place; silent when stderr is not a terminal. */
export class Progress {
  private readonly started = performance.now();
  private lastDraw = -Infinity; // the first update always draws
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, skipped: number): void {
    if (!this.stream.isTTY) return;
    const now = performance.now();
    if (now - this.lastDraw < 250) return;
    this.lastDraw = now;
    const rate = done / Math.max(1e-3, (now - this.started) / 1000);
    this.stream.write(`\r${this.label}: ${done} scored, ${skipped} skipped, ${rate.toFixed(1)}/s\x1b[K`);
    this.drawn = true;
  }

  /** Clears the line so that the next output starts on a clean one. */
  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
  }
}
