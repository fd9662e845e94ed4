// The live prediction log: every live result with its time, downloadable as JSON or CSV. Bounded (the
// oldest entries go first), so that hours of live mode cannot grow memory without end.
import type { Prediction } from '../store/summary';

export interface LogEntry {
  /** Wall-clock time of the result (ms since the epoch). */
  time: number;
  /** Milliseconds since live mode started. */
  elapsedMs: number;
  latencyMs: number;
  /** Smoothed top predictions (what was shown). */
  top: Prediction[];
}

export const MAX_LOG_ENTRIES = 100_000;

export class PredictionLog {
  private readonly entries: LogEntry[] = [];

  constructor(private readonly limit = MAX_LOG_ENTRIES) {}

  add(entry: LogEntry) {
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
  }

  get length(): number {
    return this.entries.length;
  }

  clear() {
    this.entries.length = 0;
  }

  toJSON(): string {
    return JSON.stringify(this.entries.map((e) => ({ ...e, time: new Date(e.time).toISOString() })), null, 1);
  }

  /** One row per entry: time, elapsed, latency, then label and probability of each rank. */
  toCSV(): string {
    const ranks = Math.max(0, ...this.entries.map((e) => e.top.length));
    const header = ['time', 'elapsed_ms', 'latency_ms', ...Array.from({ length: ranks }, (_, i) => [`label_${i + 1}`, `prob_${i + 1}`]).flat()];
    const rows = this.entries.map((e) => [new Date(e.time).toISOString(), e.elapsedMs.toFixed(0), e.latencyMs.toFixed(0), ...e.top.flatMap((p) => [csvField(p.label), p.prob.toFixed(6)])]);
    return [header, ...rows].map((r) => r.join(',')).join('\n') + '\n';
  }
}

/** A CSV field: quoted when it holds a comma, quote or line break (labels are the checkpoint's). */
function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
