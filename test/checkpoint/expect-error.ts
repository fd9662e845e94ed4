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
