import { check, CheckpointError, quote } from './errors';
import { isJsonObject, parseJsonObject } from './json';
import { DTYPE_BYTES, MAX_RANK, MAX_TENSORS, numel, shapeText, type DType, type RawTensor, type TensorMap } from './tensor';

/** Bounds on what a header may claim before we trust it. */
const MAX_HEADER_BYTES = 16 << 20;
/** JSON values per tensor entry: name, dtype, shape (up to MAX_RANK), data_offsets; and some metadata. */
const MAX_HEADER_VALUES = MAX_TENSORS * (9 + MAX_RANK) + 4096;
/** Shards one index may name (the published checkpoints have one). */
export const MAX_SHARDS = 256;
const MAX_INDEX_VALUES = MAX_TENSORS * 4 + 4096;

const SUPPORTED = new Map<unknown, DType>([['F32', 'F32'], ['F16', 'F16'], ['BF16', 'BF16'], ['U8', 'U8']]);

/**
 * Parse one `.safetensors` file: u64 LE header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}`, then the data.
 * Tensors are views into `file` (no copy). Every claim is checked against the file, and, as the
 * reference reader requires, the tensors tile the data exactly: no overlap, no alias, no gap.
 */
export function readSafetensors(file: Uint8Array, fileName = 'safetensors file'): TensorMap {
  check(file.byteLength >= 8, `${fileName}: too short to be safetensors (${file.byteLength} bytes)`);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLen = dv.getBigUint64(0, true);
  check(headerLen <= BigInt(MAX_HEADER_BYTES), `${fileName}: header length ${headerLen} is implausible (max ${MAX_HEADER_BYTES})`);
  const dataStart = 8 + Number(headerLen);
  check(dataStart <= file.byteLength, `${fileName}: truncated (header claims ${headerLen} bytes, file has ${file.byteLength})`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, dataStart));
  } catch (e) {
    throw new CheckpointError(`${fileName}: header is not valid JSON (${(e as Error).message})`);
  }
  const header = parseJsonObject(text, `${fileName}: header`, MAX_HEADER_VALUES, `${MAX_TENSORS} tensors`);
  const names = Object.keys(header).filter((name) => name !== '__metadata__');
  check(names.length <= MAX_TENSORS, `${fileName}: holds ${names.length} tensors, more than ${MAX_TENSORS}`);

  const dataLen = file.byteLength - dataStart;
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors: TensorMap = new Map();
  for (const name of names) {
    const e = header[name];
    const what = `${fileName}: tensor ${quote(name)}`;
    check(isJsonObject(e), `${what} is not an object`);
    const dtype = SUPPORTED.get(e.dtype);
    check(dtype, `${what} has unsupported dtype ${quote(e.dtype)} (F32, F16, BF16, U8 are supported)`);
    const shape = e.shape;
    check(Array.isArray(shape), `${what} has a bad shape ${quote(shape)}`);
    check(shape.length <= MAX_RANK, `${what} has ${shape.length} dimensions, more than ${MAX_RANK}`);
    check(shape.every((d) => Number.isSafeInteger(d) && d >= 0), `${what} has a bad shape ${quote(shape)}`);
    const offsets = e.data_offsets;
    check(
      Array.isArray(offsets) && offsets.length === 2 && offsets.every((o) => Number.isSafeInteger(o) && o >= 0),
      `${what} has bad data_offsets ${quote(offsets)}`,
    );
    const [begin, end] = offsets as [number, number];
    check(begin <= end && end <= dataLen, `${what} bytes [${begin}, ${end}) lie outside the data (${dataLen} bytes): truncated file?`);
    let expected: number;
    try {
      expected = numel(shape) * DTYPE_BYTES[dtype];
    } catch (err) {
      throw new CheckpointError(`${what}: ${(err as Error).message}`);
    }
    check(end - begin === expected, `${what} ${shapeText(shape)} ${dtype} needs ${expected} bytes, header gives ${end - begin}`);
    spans.push({ name, begin, end });
    tensors.set(name, { dtype, shape, bytes: file.subarray(dataStart + begin, dataStart + end) } satisfies RawTensor);
  }

  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous = '(none)';
  for (const { name, begin, end } of spans) {
    check(begin === covered, `${fileName}: tensor ${quote(name)} starts at byte ${begin} of the data, where the previous tensor ${previous} does not end (${covered})`);
    covered = end;
    previous = quote(name);
  }
  check(covered === dataLen, `${fileName}: the tensors cover ${covered} of the ${dataLen} data bytes`);
  return tensors;
}

/** `model.safetensors.index.json`: which shard holds each tensor. Returns the shard file names in order. */
export function readShardIndex(text: string): { shards: string[]; weightMap: Map<string, string> } {
  const file = 'model.safetensors.index.json';
  const index = parseJsonObject(text, file, MAX_INDEX_VALUES, `${MAX_TENSORS} index entries`);
  const map = index.weight_map;
  check(isJsonObject(map), `${file} has no weight_map object`);
  const names = Object.keys(map);
  check(names.length <= MAX_TENSORS, `${file} names ${names.length} tensors, more than ${MAX_TENSORS}`);
  const weightMap = new Map<string, string>();
  for (const name of names) {
    const shard = map[name];
    check(typeof shard === 'string' && /^[\w.-]+\.safetensors$/.test(shard), `${file}: bad shard name ${quote(shard)} for ${quote(name)}`);
    weightMap.set(name, shard);
  }
  const shards = [...new Set(weightMap.values())];
  check(shards.length <= MAX_SHARDS, `${file} names ${shards.length} shards, more than ${MAX_SHARDS}`);
  return { shards, weightMap };
}
