import { check, CheckpointError } from './errors';
import { DTYPE_BYTES, numel, type DType, type RawTensor, type TensorMap } from './tensor';

/** Bounds on what a header may claim before we trust it. */
const MAX_HEADER_BYTES = 100 * 2 ** 20;
const SUPPORTED: Record<string, DType> = { F32: 'F32', F16: 'F16', BF16: 'BF16', U8: 'U8' };

/**
 * Parse one `.safetensors` file: u64 LE header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}`, then the data.
 * Tensors are views into `file` (no copy). Every claim is checked against the file.
 */
export function readSafetensors(file: Uint8Array, fileName = 'safetensors file'): TensorMap {
  check(file.byteLength >= 8, `${fileName}: too short to be safetensors (${file.byteLength} bytes)`);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLen = dv.getBigUint64(0, true);
  check(headerLen <= BigInt(MAX_HEADER_BYTES), `${fileName}: header length ${headerLen} is implausible (max ${MAX_HEADER_BYTES})`);
  const dataStart = 8 + Number(headerLen);
  check(dataStart <= file.byteLength, `${fileName}: truncated (header claims ${headerLen} bytes, file has ${file.byteLength})`);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, dataStart)));
  } catch (e) {
    throw new CheckpointError(`${fileName}: header is not valid JSON (${(e as Error).message})`);
  }
  check(header !== null && typeof header === 'object' && !Array.isArray(header), `${fileName}: header is not a JSON object`);

  const dataLen = file.byteLength - dataStart;
  const tensors: TensorMap = new Map();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    check(e && typeof e === 'object', `${fileName}: entry '${name}' is not an object`);
    const dtype = SUPPORTED[String(e.dtype)];
    check(dtype, `${fileName}: tensor '${name}' has unsupported dtype ${JSON.stringify(e.dtype)} (F32, F16, BF16, U8 are supported)`);
    check(Array.isArray(e.shape) && e.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `${fileName}: tensor '${name}' has a bad shape ${JSON.stringify(e.shape)}`);
    const offsets = e.data_offsets;
    check(
      Array.isArray(offsets) && offsets.length === 2 && offsets.every((o) => Number.isSafeInteger(o) && o >= 0),
      `${fileName}: tensor '${name}' has bad data_offsets ${JSON.stringify(offsets)}`,
    );
    const [begin, end] = offsets as [number, number];
    check(begin <= end && end <= dataLen, `${fileName}: tensor '${name}' bytes [${begin}, ${end}) lie outside the data (${dataLen} bytes): truncated file?`);
    const shape = e.shape as number[];
    const expected = numel(shape) * DTYPE_BYTES[dtype];
    check(end - begin === expected, `${fileName}: tensor '${name}' [${shape}] ${dtype} needs ${expected} bytes, header gives ${end - begin}`);
    tensors.set(name, { dtype, shape, bytes: file.subarray(dataStart + begin, dataStart + end) } satisfies RawTensor);
  }
  return tensors;
}

/** `model.safetensors.index.json`: which shard holds each tensor. Returns the shard file names in order. */
export function readShardIndex(text: string): { shards: string[]; weightMap: Map<string, string> } {
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`model.safetensors.index.json is not valid JSON (${(e as Error).message})`);
  }
  const map = (index as { weight_map?: unknown })?.weight_map;
  check(map && typeof map === 'object' && !Array.isArray(map), 'model.safetensors.index.json has no weight_map object');
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    check(typeof shard === 'string' && /^[\w.-]+\.safetensors$/.test(shard), `model.safetensors.index.json: bad shard name ${JSON.stringify(shard)} for '${name}'`);
    weightMap.set(name, shard);
  }
  return { shards: [...new Set(weightMap.values())], weightMap };
}
