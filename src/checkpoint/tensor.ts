import { CheckpointError, quote } from './errors';

/** Storage dtypes of the published checkpoints (float), plus U8 for the fixtures' video frames. */
export type DType = 'F32' | 'F16' | 'BF16' | 'U8';

export const DTYPE_BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2, U8: 1 };

/**
 * One tensor as stored in a checkpoint: little-endian bytes, row-major (contiguous) shape.
 * `bytes` is a view into the file's buffer wherever the format allows it (no copy).
 */
export interface RawTensor {
  dtype: DType;
  shape: number[];
  bytes: Uint8Array;
}

/** Tensors by parameter name, as the checkpoint names them. */
export type TensorMap = Map<string, RawTensor>;

/** Largest tensor we accept (elements): bounds every allocation made from a file's claims. */
export const MAX_TENSOR_ELEMENTS = 2 ** 30;

/** Tensors in one checkpoint (file, index or state dict): the largest config.ts accepts (64 layers) has under 1,300. */
export const MAX_TENSORS = 2048;

/** Highest rank we accept (TimeSformer parameters have at most 4 dimensions): bounds the work per shape. */
export const MAX_RANK = 8;

/** A shape for a message, summarized past MAX_RANK. */
export function shapeText(shape: readonly unknown[]): string {
  return shape.length <= MAX_RANK ? `[${shape.map(quote).join(',')}]` : `(a shape of ${shape.length} dimensions)`;
}

/** Elements in `shape`, refusing a bad or too large one. Messages are built only on failure. */
export function numel(shape: readonly number[]): number {
  if (shape.length > MAX_RANK) throw new CheckpointError(`shape has ${shape.length} dimensions, more than ${MAX_RANK}`);
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new CheckpointError(`bad dimension ${quote(d)} in shape ${shapeText(shape)}`);
    n *= d;
    if (n > MAX_TENSOR_ELEMENTS) throw new CheckpointError(`shape ${shapeText(shape)} is larger than ${MAX_TENSOR_ELEMENTS} elements`);
  }
  return n;
}

/** f16 bits → f32 value (IEEE 754 half, subnormals and inf/nan included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** f32 → nearest f16 bits (round to nearest even), for storing weights as half. */
export function floatToHalf(value: number): number {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && half & 1) ? 1 : 0));
}

/** The tensor's values as float32: a view when stored as aligned F32, else a converted copy. */
export function toFloat32(t: RawTensor): Float32Array {
  const n = numel(t.shape);
  const expected = n * DTYPE_BYTES[t.dtype];
  if (t.bytes.byteLength !== expected) {
    throw new CheckpointError(`tensor of shape ${shapeText(t.shape)} ${t.dtype} needs ${expected} bytes, has ${t.bytes.byteLength}`);
  }
  const { buffer, byteOffset } = t.bytes;
  if (t.dtype === 'F32') {
    if (byteOffset % 4 === 0) return new Float32Array(buffer, byteOffset, n);
    return new Float32Array(t.bytes.slice().buffer);
  }
  const out = new Float32Array(n);
  const dv = new DataView(buffer, byteOffset, t.bytes.byteLength);
  if (t.dtype === 'U8') {
    out.set(t.bytes);
  } else if (t.dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
  } else {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = dv.getUint16(2 * i, true) << 16;
  }
  return out;
}

/** The tensor as f16 bits: a view when stored as aligned F16, else a converted copy. */
export function toFloat16Bits(t: RawTensor): Uint16Array {
  const n = numel(t.shape);
  if (t.dtype === 'F16' && t.bytes.byteOffset % 2 === 0 && t.bytes.byteLength === 2 * n) {
    return new Uint16Array(t.bytes.buffer, t.bytes.byteOffset, n);
  }
  const f = toFloat32(t);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = floatToHalf(f[i]);
  return out;
}
