/** A model file or folder that cannot be used: wrong, truncated, lying or unsupported. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckpointError(message);
}

/** Longest piece of a file's text quoted in a message. */
const MAX_QUOTED_CHARS = 48;

/** A name from a file, cut short for a message (names can be megabytes long). */
export function capped(text: string): string {
  return text.length <= MAX_QUOTED_CHARS ? text : `${text.slice(0, MAX_QUOTED_CHARS)}… (${text.length} characters)`;
}

/**
 * An untrusted value for a message: strings quoted and capped, numbers as they are, anything else
 * named by its type. Never stringifies a structure: a list nested through shared references takes
 * minutes to print, and a deep one overflows the stack.
 */
export function quote(value: unknown): string {
  if (typeof value === 'string') {
    return value.length <= MAX_QUOTED_CHARS ? `'${value}'` : `'${value.slice(0, MAX_QUOTED_CHARS)}…' (${value.length} characters)`;
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `(a list of ${value.length} item${value.length === 1 ? '' : 's'})`;
  if (ArrayBuffer.isView(value)) return `(${value.byteLength} bytes)`;
  return `(${value === undefined ? 'nothing' : 'an object'})`;
}
