// Attention probabilities within one binding's limit: a tensor of whole attention sequences ([seqs, H, len, len],
// H·len² floats a sequence) larger than one binding (WebGPU's baseline: 128 MiB; TimeSformer-HR's spatial
// probabilities are 473 MB, -L's 179 MB) is kept in parts of whole sequences, each its own buffer within one
// binding and one buffer, and every kernel that writes or reads it runs once per part (the sequence index of
// its token maps offset by the part's first sequence). Where the whole tensor fits one binding there is one
// part, the whole buffer, as before.
import type { BufferLimits } from './runtime';
import type { RowChunk } from './row-chunks';

/** What `Runtime.buffer` makes of a request: whole 16-byte units, at least one. */
const storage = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);

/** Parts of `seqs` sequences of `seqFloats` f32: as many whole sequences a part as one binding (and buffer) holds, at least one. */
export function sequenceChunks(limits: BufferLimits, seqs: number, seqFloats: number): RowChunk[] {
  const limit = Math.min(limits.binding, limits.buffer);
  const fits = (n: number) => storage(n * seqFloats * 4) <= limit;
  let perPart = seqs;
  if (!fits(seqs)) {
    perPart = Math.max(1, Math.floor(limit / (seqFloats * 4)));
    while (perPart > 1 && !fits(perPart)) perPart--;
  }
  const chunks: RowChunk[] = [];
  for (let first = 0; first < seqs; first += perPart) chunks.push({ first, count: Math.min(perPart, seqs - first) });
  return chunks;
}

/** One part: sequences [first, first + count) in `buffer` from its start. */
export interface SequencePart extends RowChunk {
  buffer: GPUBuffer;
}

/** A tensor of whole sequences of `seqFloats` f32 each, in parts. */
export interface SequenceParts {
  seqFloats: number;
  parts: SequencePart[];
}

/** The label of part `chunk` of `chunks` (the whole label when there is one part). */
export const partLabel = (label: string, chunk: RowChunk, chunks: number) => (chunks === 1 ? label : `${label} sequences ${chunk.first}..${chunk.first + chunk.count - 1}`);

/** `seqs` sequences of `seqFloats` f32 in parts, each made by `make` (a plan buffer of that many floats). */
export function sequenceBuffers(make: (label: string, floats: number) => GPUBuffer, label: string, limits: BufferLimits, seqs: number, seqFloats: number): SequenceParts {
  const chunks = sequenceChunks(limits, seqs, seqFloats);
  return { seqFloats, parts: chunks.map((c) => ({ ...c, buffer: make(partLabel(label, c, chunks.length), c.count * seqFloats) })) };
}

/** A tensor's sequences and floats a sequence. */
export interface SequenceShape {
  seqs: number;
  seqFloats: number;
}

/** The floats of each part of scratch shared by tensors of `shapes`: part k the largest part k of any. */
export function sharedPartFloats(limits: BufferLimits, shapes: SequenceShape[]): number[] {
  const layouts = shapes.map((s) => sequenceChunks(limits, s.seqs, s.seqFloats).map((c) => c.count * s.seqFloats));
  return Array.from({ length: Math.max(...layouts.map((l) => l.length)) }, (_, k) => Math.max(...layouts.map((l) => l[k] ?? 0)));
}

export const sharedPartLabel = (label: string, k: number, parts: number) => (parts === 1 ? label : `${label} part ${k}`);

/**
 * Scratch for tensors of any of `shapes` ({seqs, seqFloats}), one at a time: part k's buffer is the largest part k
 * of any of them, made on first use. `view(shape)` gives that shape's parts over the shared buffers.
 */
export function sharedSequenceBuffers(make: (label: string, floats: number) => GPUBuffer, label: string, limits: BufferLimits, shapes: SequenceShape[]) {
  const floats = sharedPartFloats(limits, shapes);
  const buffers: GPUBuffer[] = [];
  const bufferOf = (k: number) => (buffers[k] ??= make(sharedPartLabel(label, k, floats.length), floats[k]));
  return (seqs: number, seqFloats: number): SequenceParts => ({ seqFloats, parts: sequenceChunks(limits, seqs, seqFloats).map((c, k) => ({ ...c, buffer: bufferOf(k) })) });
}

/** A range of a GPU buffer, in bytes. */
export interface Piece {
  buffer: GPUBuffer;
  offset: number;
  bytes: number;
}

/** Floats [offset, offset + count) of a tensor in parts, as the ranges of its part buffers that hold them, in order. */
export function pieces({ seqFloats, parts }: SequenceParts, offset = 0, count = parts.reduce((n, p) => n + p.count, 0) * seqFloats): Piece[] {
  const out: Piece[] = [];
  for (const p of parts) {
    const start = Math.max(offset, p.first * seqFloats), end = Math.min(offset + count, (p.first + p.count) * seqFloats);
    if (start < end) out.push({ buffer: p.buffer, offset: (start - p.first * seqFloats) * 4, bytes: (end - start) * 4 });
  }
  return out;
}
