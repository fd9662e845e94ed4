// Large activations within one binding's limit: a pass over rows whose buffers are larger than the device lets
// one binding hold (WebGPU's baseline: 128 MiB; TimeSformer-HR's MLP activation is 154 MB, -L's 231 MB) runs
// in row chunks, each binding the range of each buffer its rows cover. Where every buffer fits one binding
// there is one chunk and whole buffers are bound, as before.
import { GpuError } from './device';
import type { BufferRange, Runtime } from './runtime';

/** Rows [first, first + count) of a pass. */
export interface RowChunk {
  first: number;
  count: number;
}

/**
 * Chunks of `rows` rows such that a binding spanning `rowElements` f32 per row (the widest row stride of the
 * pass) fits the binding limit from any aligned start: a multiple of `multiple` rows each (a kernel's tile),
 * but the last, where that many fit.
 */
export function rowChunks(rt: Runtime, rows: number, rowElements: number, multiple = 1): RowChunk[] {
  const slack = rt.device.limits.minStorageBufferOffsetAlignment + 16;
  const fit = Math.floor((rt.limits.binding - slack) / (rowElements * 4));
  if (fit < 1) throw new GpuError(`a row of ${rowElements * 4} bytes does not fit this GPU's ${rt.limits.binding}-byte binding`);
  const perChunk = fit >= multiple ? Math.floor(fit / multiple) * multiple : fit;
  const chunks: RowChunk[] = [];
  for (let first = 0; first < rows; first += perChunk) chunks.push({ first, count: Math.min(perChunk, rows - first) });
  return chunks;
}

/**
 * The binding of `elements` f32 of `buffer` from element `first`: from the aligned byte at or below it, to a
 * whole 16 bytes past the last (vec4 views). `offset` is where element `first` falls in it, in f32.
 */
export function elementRange(rt: Runtime, buffer: GPUBuffer, first: number, elements: number): { range: BufferRange; offset: number } {
  const align = rt.device.limits.minStorageBufferOffsetAlignment;
  const start = Math.floor((first * 4) / align) * align;
  const end = Math.min(buffer.size, Math.ceil(((first + elements) * 4) / 16) * 16);
  return { range: { buffer, offset: start, size: end - start }, offset: first - start / 4 };
}

/** Whether every one of `buffers` fits one binding (then a pass binds them whole, in one dispatch). */
export const fitsOneBinding = (rt: Runtime, buffers: GPUBuffer[]) => buffers.every((b) => b.size <= rt.limits.binding);
