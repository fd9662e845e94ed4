import { expect } from 'vitest';
import { CheckpointError } from '../../src/checkpoint/errors';

/** `fn` must throw a CheckpointError (not a RangeError or TypeError from a bad read) whose message matches. */
export function expectCheckpointError(fn: () => unknown, message: RegExp, what?: string): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, what).toBeInstanceOf(CheckpointError);
  expect((error as Error).message, what).toMatch(message);
}

/**
 * "Well under a second": refusals here take a few to a hundred ms on an idle machine, but this 2-core
 * machine is shared (load 8–13 is common, and a refusal runs on cold code). The unfixed loader took 1–50 s.
 */
const QUICK_MS = 1000;
/** Longest message a refusal may have: a user reads it. */
const MAX_MESSAGE_CHARS = 2000;
/** Peak-memory growth allowed beyond `allowedBytes`: heap growth and GC slack of the test process. */
const MEMORY_SLACK_BYTES = 96 << 20;

/**
 * A hostile file must be refused with a short CheckpointError, quickly, without raising the process's
 * peak memory (maxRSS) by more than `allowedBytes` (what the loader may keep: about the file's size).
 */
export async function expectQuickRefusal(fn: () => unknown, message: RegExp, what: string, allowedBytes = 0): Promise<void> {
  const peakBefore = process.resourceUsage().maxRSS * 1024;
  const start = performance.now();
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - start;
  const peakGrowth = process.resourceUsage().maxRSS * 1024 - peakBefore;
  expect(error, what).toBeInstanceOf(CheckpointError);
  const text = (error as Error).message;
  expect(text, what).toMatch(message);
  expect(text.length, `${what}: message of ${text.length} characters`).toBeLessThan(MAX_MESSAGE_CHARS);
  expect(ms, `${what}: refused after ${ms.toFixed(0)} ms`).toBeLessThan(QUICK_MS);
  expect(peakGrowth, `${what}: peak memory grew by ${peakGrowth} bytes`).toBeLessThan(MEMORY_SLACK_BYTES + allowedBytes);
}
