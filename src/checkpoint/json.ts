import { check, CheckpointError } from './errors';

/** Largest JSON file we read (config, preprocessor config, shard index); real ones are well under 1 MB. */
export const MAX_JSON_BYTES = 16 << 20;

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A JSON file's text, refusing one too large to be a config before decoding it. */
export function decodeJsonFile(bytes: Uint8Array, file: string): string {
  check(bytes.byteLength <= MAX_JSON_BYTES, `${file} is ${bytes.byteLength} bytes, more than the ${MAX_JSON_BYTES} a JSON file may have`);
  return new TextDecoder().decode(bytes);
}

/**
 * Parses `text`, which must be a JSON object. Parsed values cost far more memory than their text, so
 * they are counted first: every value but the first follows a `,`, `:` or `[` (inside strings these
 * only overcount). `maxValues` is what the largest real file of its kind needs; `what` names that.
 */
export function parseJsonObject(text: string, file: string, maxValues: number, what: string): JsonObject {
  let values = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2c || c === 0x3a || c === 0x5b) values++;
  }
  check(values <= maxValues, `${file} has more than ${maxValues} JSON values, more than ${what} can need`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // V8's message quotes at most a few characters of the text.
    throw new CheckpointError(`${file} is not valid JSON (${(e as Error).message})`);
  }
  check(isJsonObject(value), `${file} is not a JSON object`);
  return value;
}
