/** A model file or folder that cannot be used: wrong, truncated, lying or unsupported. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckpointError(message);
}
