/** A one-line progress bar on a terminal (stderr), for bulk runs that take more than a moment. */

export class ProgressBar {
  private readonly startMs = Date.now();
  private lastDraw = 0;
  private shown = false;

  constructor(
    private readonly label: string,
    private readonly enabled = process.stderr.isTTY === true,
  ) {}

  update(done: number, total: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    // Only once the run has taken a moment, and at most ten times a second.
    if (now - this.startMs < 300 || (now - this.lastDraw < 100 && done < total)) return;
    this.lastDraw = now;
    this.shown = true;
    const width = 30;
    const filled = Math.round((done / total) * width);
    const rate = done / Math.max(0.001, (now - this.startMs) / 1000);
    process.stderr.write(
      `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} flows, ${rate.toFixed(0)}/s `,
    );
  }

  done(): void {
    if (this.shown) process.stderr.write('\n');
  }
}
