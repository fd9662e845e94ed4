// The engine's weights on their way into GPU buffers (laid out by weight-layout.ts, from the config alone):
// packed from a checkpoint buffer by buffer, or streamed from an engine-ready copy of the packed bytes,
// written once as the first load packs them: no parse, no transposes on the next visit, memory bounded by
// one chunk. The copy is checked against the layout its own config implies.
//
// A copy's bytes: [buffer 0][buffer 1]…[buffer n-1][manifest JSON][u32 manifest bytes][8-byte magic].
// The manifest is written last, so a copy cut short (a full disk, a closed tab) has no magic and is refused.
import { parseConfig, parsePreprocessorConfig, type PreprocessorConfig, type TimesformerConfig } from '../checkpoint/config';
import type { TimesformerWeights } from '../checkpoint/weights';
import type { WeightDType } from './kernels/gemm';
import { bytesOf, engineLayout, type EngineWeights, type Made } from './weight-layout';

/** Where an engine-ready copy is written: appended to in order. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

/** An engine-ready copy to read back: its size and any range of it (into `into`, reused, when given). */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
}

/** What the copy's manifest keeps besides the buffers: the model's own files, parsed again on reading. */
export interface CopyManifest {
  format: typeof COPY_FORMAT;
  dtype: WeightDType;
  configJson: string;
  preprocessorJson?: string;
  /** The checkpoint's format and where it came from, for the model panel. */
  checkpointFormat: string;
  source: string;
  /** Labels and sizes in order (checked against the layout the config implies). */
  buffers: { label: string; bytes: number }[];
}

const COPY_FORMAT = 'timesformer-webgpu engine-ready weights 1';
const MAGIC = new TextEncoder().encode('TSFREADY');
const TAIL_BYTES = 4 + MAGIC.length;
/** A manifest lists ~250 buffers and two small JSON files. */
const MAX_MANIFEST_BYTES = 4 * 2 ** 20;
/** Bytes read from a copy at a time: what the upload holds in memory. */
export const UPLOAD_CHUNK_BYTES = 8 * 2 ** 20;
/**
 * Bytes written between two waits for the queue: writeBuffer stages its data until the queue runs it, so an
 * upload that never waits holds a second copy of every weight (measured: 2.45× the weights for base in Dawn).
 */
const STAGED_BYTES = 32 * 2 ** 20;

/** Uploads that keep what is staged and not yet on the GPU under STAGED_BYTES. */
function stagedWriter(device: GPUDevice) {
  let staged = 0;
  return async (buffer: GPUBuffer, at: number, bytes: Uint8Array) => {
    device.queue.writeBuffer(buffer, at, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if ((staged += bytes.byteLength) < STAGED_BYTES) return;
    staged = 0;
    device.queue.submit([]);
    await device.queue.onSubmittedWorkDone();
  };
}

export type UploadProgress = (done: number, total: number) => void;

/**
 * How Linear weights live on the GPU: 'auto' is f16 when the checkpoint stores f16 (exact, half the memory),
 * else f32; 'f16' also rounds an f32 checkpoint.
 */
export function weightDType(w: TimesformerWeights, option: 'auto' | WeightDType = 'auto'): WeightDType {
  return option === 'auto' ? (w.head.weight.dtype === 'F16' ? 'f16' : 'f32') : option;
}

/**
 * What `weightDType` will say of a checkpoint as its config.json declares it (`dtype`, or `torch_dtype` as older
 * transformers wrote it), known before its weights are read.
 */
export function declaredWeightDType(configJson: string): WeightDType {
  const json = JSON.parse(configJson) as { dtype?: unknown; torch_dtype?: unknown };
  return (json.dtype ?? json.torch_dtype) === 'float16' ? 'f16' : 'f32';
}

/** Bytes of the engine's weights for `c` in `dtype`: the size of its engine-ready copy, less the manifest. */
export const packedBytes = (c: TimesformerConfig, dtype: WeightDType) => engineLayout(c, dtype).buffers.reduce((n, b) => n + b.bytes, 0);

/** The engine's buffers, made (empty), and how to fill them. */
export interface AllocatedWeights {
  weights: EngineWeights;
  fill(onProgress?: UploadProgress, signal?: AbortSignal): Promise<void>;
}

/**
 * A checkpoint's weights for the engine: the buffers made at once (empty; the few kept on the CPU packed), so
 * that the engine's plan can be recorded and its kernels compile while `fill` packs and uploads each buffer in
 * turn (memory is the checkpoint plus one packed buffer) and appends its bytes to `sink` (the engine-ready copy)
 * when given.
 */
export function allocatePacked(
  device: GPUDevice,
  makeBuffer: (label: string, bytes: number) => GPUBuffer,
  c: TimesformerConfig,
  w: TimesformerWeights,
  dtype: WeightDType,
  sink?: ByteSink,
): AllocatedWeights {
  const { buffers, bind } = engineLayout(c, dtype);
  const made: Made = buffers.map((spec) => (spec.home === 'cpu' ? new Float32Array(spec.pack(w).slice().buffer) : makeBuffer(spec.label, spec.bytes)));
  return {
    weights: bind(made),
    async fill(onProgress, signal) {
      const total = buffers.reduce((n, b) => n + b.bytes, 0);
      const write = stagedWriter(device);
      let done = 0;
      for (const [i, spec] of buffers.entries()) {
        signal?.throwIfAborted();
        const m = made[i];
        const bytes = m instanceof Float32Array ? bytesOf(m) : spec.pack(w);
        if (!(m instanceof Float32Array)) await write(m, 0, bytes);
        await sink?.write(bytes);
        onProgress?.((done += spec.bytes), total);
      }
    },
  };
}

/** The manifest that ends a copy (written after the last buffer). */
export function copyTail(manifest: Omit<CopyManifest, 'format' | 'buffers'>, c: TimesformerConfig): Uint8Array {
  const { buffers } = engineLayout(c, manifest.dtype);
  const json = new TextEncoder().encode(JSON.stringify({ ...manifest, format: COPY_FORMAT, buffers: buffers.map((b) => ({ label: b.label, bytes: b.bytes })) }));
  const tail = new Uint8Array(json.byteLength + TAIL_BYTES);
  tail.set(json);
  new DataView(tail.buffer).setUint32(json.byteLength, json.byteLength, true);
  tail.set(MAGIC, json.byteLength + 4);
  return tail;
}

export class CopyError extends Error {
  override name = 'CopyError';
}

export interface OpenedCopy {
  config: TimesformerConfig;
  preprocessor: PreprocessorConfig;
  manifest: CopyManifest;
}

/**
 * Read and check a copy's manifest: its config and preprocessor parse as a fresh checkpoint's would, its
 * buffers are the layout that config implies, and their sizes add up to the file. Throws CopyError otherwise.
 */
export async function openCopy(source: ByteSource): Promise<OpenedCopy> {
  const fail = (why: string): never => {
    throw new CopyError(`the engine-ready copy is unusable: ${why}`);
  };
  if (!(source.size >= TAIL_BYTES)) fail('too short');
  const tail = await source.read(source.size - TAIL_BYTES, TAIL_BYTES);
  if (tail.byteLength !== TAIL_BYTES || MAGIC.some((b, i) => tail[4 + i] !== b)) fail('it was not written to the end');
  const manifestBytes = new DataView(tail.buffer, tail.byteOffset).getUint32(0, true);
  if (!(manifestBytes <= Math.min(MAX_MANIFEST_BYTES, source.size - TAIL_BYTES))) fail('its manifest size is wrong');
  const dataBytes = source.size - TAIL_BYTES - manifestBytes;
  let manifest: CopyManifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(await source.read(dataBytes, manifestBytes)));
  } catch {
    return fail('its manifest is not JSON');
  }
  if (manifest?.format !== COPY_FORMAT) fail('another format or version');
  if (manifest.dtype !== 'f32' && manifest.dtype !== 'f16') fail('unknown weight type');
  if (typeof manifest.configJson !== 'string' || (manifest.preprocessorJson !== undefined && typeof manifest.preprocessorJson !== 'string')) fail('no config');
  let config: TimesformerConfig, preprocessor: PreprocessorConfig;
  try {
    config = parseConfig(manifest.configJson);
    preprocessor = parsePreprocessorConfig(manifest.preprocessorJson, config);
  } catch (e) {
    return fail(`its config: ${(e as Error).message}`);
  }
  const { buffers } = engineLayout(config, manifest.dtype);
  const listed = Array.isArray(manifest.buffers) ? manifest.buffers : [];
  if (listed.length !== buffers.length || buffers.some((b, i) => listed[i]?.label !== b.label || listed[i]?.bytes !== b.bytes)) fail('its buffers are not what its config implies');
  if (buffers.reduce((n, b) => n + b.bytes, 0) !== dataBytes) fail('its size does not match its buffers');
  if (typeof manifest.checkpointFormat !== 'string' || typeof manifest.source !== 'string') fail('no source');
  return { config, preprocessor, manifest };
}

/**
 * A checked copy's buffers, made on the GPU (empty) and on the CPU (read now: they are small), and `fill`, which
 * streams the file in `UPLOAD_CHUNK_BYTES` windows (whatever the buffers' boundaries: a base model has ~250
 * buffers, many of a few kB, and each read has a cost of its own), reading the next window while the last is
 * written: memory stays at two windows whatever the model's size. Plans can be recorded before `fill` ends.
 */
export async function allocateCopy(
  device: GPUDevice,
  makeBuffer: (label: string, bytes: number) => GPUBuffer,
  source: ByteSource,
  opened: OpenedCopy,
): Promise<AllocatedWeights> {
  const { buffers, bind } = engineLayout(opened.config, opened.manifest.dtype);
  const made: Made = [];
  const changed = () => new CopyError('the engine-ready copy is unusable: it changed while it was read');
  // Where each GPU buffer's bytes are in the file.
  const placed: { buffer: GPUBuffer; from: number; bytes: number }[] = [];
  let from = 0;
  for (const spec of buffers) {
    if (spec.home === 'cpu') {
      const bytes = await source.read(from, spec.bytes);
      if (bytes.byteLength !== spec.bytes) throw changed();
      made.push(new Float32Array(bytes.slice().buffer));
    } else {
      const buffer = makeBuffer(spec.label, spec.bytes);
      made.push(buffer);
      placed.push({ buffer, from, bytes: spec.bytes });
    }
    from += spec.bytes;
  }
  const end = from;
  return {
    weights: bind(made),
    async fill(onProgress, signal) {
      const write = stagedWriter(device);
      // Two windows, read into in turn (writeBuffer copies at the call): no garbage for the collector to find late.
      const windows = [0, 1].map(() => new Uint8Array(Math.min(UPLOAD_CHUNK_BYTES, end)));
      let turn = 0;
      const read = (at: number) => (at < end ? source.read(at, Math.min(UPLOAD_CHUNK_BYTES, end - at), windows[turn++ % 2]) : undefined);
      let next = read(0);
      let b = 0; // the first buffer not yet written in full
      try {
        for (let at = 0; at < end; at += UPLOAD_CHUNK_BYTES) {
          const window = await next!;
          signal?.throwIfAborted();
          next = read(at + UPLOAD_CHUNK_BYTES);
          if (window.byteLength !== Math.min(UPLOAD_CHUNK_BYTES, end - at)) throw changed();
          const windowEnd = at + window.byteLength;
          // Every GPU buffer overlapping [at, windowEnd) gets its part.
          for (let i = b; i < placed.length && placed[i].from < windowEnd; i++) {
            const p = placed[i];
            const lo = Math.max(p.from, at), hi = Math.min(p.from + p.bytes, windowEnd);
            if (hi > lo) await write(p.buffer, lo - p.from, window.subarray(lo - at, hi - at));
            if (p.from + p.bytes <= windowEnd) b = i + 1;
          }
          onProgress?.(windowEnd, end);
        }
      } finally {
        await next?.catch(() => {});
      }
    },
  };
}
