// Live throughput and latency: clips per second over the last few seconds, and the end-to-end latency
// (newest frame of a clip arrived → its result on screen), averaged over the last few clips.

export class LiveMeter {
  private readonly finished: number[] = [];
  private readonly latencies: number[] = [];

  constructor(
    /** Milliseconds of history clips/s is counted over. */
    private readonly span = 3000,
    /** Clips the latency is averaged over. */
    private readonly latencyClips = 5,
  ) {}

  /** A clip's result was shown at `now`; its newest frame arrived at `newestTime` (same clock, ms). */
  clipShown(now: number, newestTime: number) {
    this.finished.push(now);
    while (this.finished.length > 1 && this.finished[0] < now - this.span) this.finished.shift();
    this.latencies.push(now - newestTime);
    if (this.latencies.length > this.latencyClips) this.latencies.shift();
  }

  /** Clips per second: results shown in the span before `now`, over the time they took (0 before two). */
  clipsPerSecond(now: number): number {
    const recent = this.finished.filter((t) => t >= now - this.span);
    if (recent.length < 2) return 0;
    return (recent.length - 1) / ((recent[recent.length - 1] - recent[0]) / 1000);
  }

  latencyMs(): number | null {
    return this.latencies.length ? this.latencies.reduce((a, b) => a + b) / this.latencies.length : null;
  }

  reset() {
    this.finished.length = 0;
    this.latencies.length = 0;
  }
}
