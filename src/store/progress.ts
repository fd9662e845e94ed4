// Progress of a long step as the UI shows it: how far, how fast, how long still. The worker reports
// every chunk (hundreds per second on a fast download); updates are thinned to a few per second so that
// React renders stay cheap.
import type { Stage } from '../worker/protocol';

export interface ProgressEvent {
  stage: Stage;
  done: number;
  total?: number;
  detail?: string;
}

export interface Progress extends ProgressEvent {
  /** Units (bytes while downloading) per second since this stage or file started; undefined at first. */
  rate?: number;
  /** Seconds left at that rate, when the total is known. */
  eta?: number;
  /** When this progress was published (ms). */
  at: number;
  /** Where the rate is measured from: the stage's (or file's) first sample. */
  since: { at: number; done: number };
}

/** Fewest milliseconds between two published updates of the same stage. */
export const PROGRESS_INTERVAL_MS = 100;

/** The next progress to publish for `event` at time `now`, or null when this sample should be skipped. */
export function progressed(previous: Progress | null, event: ProgressEvent, now: number): Progress | null {
  // A new stage or detail, or a counter that went back (the next file), restarts the rate measurement.
  const restart = !previous || previous.stage !== event.stage || previous.detail !== event.detail || event.done < previous.done;
  const finished = event.total !== undefined && event.done >= event.total;
  if (!restart && !finished && now - previous.at < PROGRESS_INTERVAL_MS) return null;
  const since = restart ? { at: now, done: event.done } : previous.since;
  const seconds = (now - since.at) / 1000;
  const rate = seconds >= 0.2 ? (event.done - since.done) / seconds : undefined;
  const eta = rate && event.total !== undefined ? Math.max(0, event.total - event.done) / rate : undefined;
  return { ...event, rate, eta, at: now, since };
}
