// One Dawn device per test file (Node): SwiftShader unless TIMESFORMER_GPU=system; with WebGPU's default limits
// and no optional features when TIMESFORMER_DEVICE=baseline (vitest project 'baseline').
import { afterAll } from 'vitest';
import type { EngineDevice } from '../src/engine/device';
import { nodeEngineDevice } from '../src/engine/node-gpu';
import { Runtime } from '../src/engine/runtime';
import type { SequenceParts } from '../src/engine/sequence-chunks';

let shared: Promise<EngineDevice> | undefined;

export function testDevice(): Promise<EngineDevice> {
  if (!shared) {
    shared = nodeEngineDevice(undefined, process.env.TIMESFORMER_DEVICE === 'baseline' ? 'baseline' : 'adapter');
    afterAll(async () => (await shared!).device.destroy());
  }
  return shared;
}

export async function testRuntime(): Promise<Runtime> {
  return new Runtime(await testDevice());
}

let fileRuntime: Promise<Runtime> | undefined;

/**
 * A scope of the file's one Runtime, as the app keeps one per device: engines made on it share compiled kernels
 * and the autotuner's picks (each shape class is tuned once per file, not once per engine), each scope owning
 * its own buffers.
 */
export async function sharedTestRuntime(): Promise<Runtime> {
  fileRuntime ??= testDevice().then((device) => new Runtime(device));
  return (await fileRuntime).scope();
}

/** Run steps and read a buffer back. */
export async function runAndRead(rt: Runtime, steps: Parameters<Runtime['encode']>[0], out: GPUBuffer, floats: number): Promise<Float32Array> {
  rt.device.pushErrorScope('validation');
  rt.device.queue.submit([rt.encode(steps).finish()]);
  const error = await rt.device.popErrorScope();
  if (error) throw new Error(error.message);
  return (await rt.read(out, floats * 4)).subarray(0, floats);
}

/** Seeded uniform random numbers in [-scale, scale). */
export function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = (s / 2 ** 32 * 2 - 1) * scale;
  }
  return out;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Number.isNaN(a[i] - b[i]) ? Infinity : Math.abs(a[i] - b[i]));
  return m;
}

/** Counts of sequences a part for `seqs` sequences in awkward parts: 1, then 2, … (one part when seqs is 1). */
export function awkwardCounts(seqs: number): number[] {
  const counts: number[] = [];
  for (let first = 0, n = 1; first < seqs; first += n, n++) counts.push(Math.min(n, seqs - first));
  return counts;
}

/** A tensor of whole sequences of `seqFloats` f32 in parts of `counts` sequences (sequence-chunks.ts), each its own buffer: `data`, or zeros. */
export function sequenceParts(rt: Runtime, label: string, seqFloats: number, counts: number[], data?: Float32Array): SequenceParts {
  let first = 0;
  const parts = counts.map((count) => {
    const floats = count * seqFloats;
    const buffer = data ? rt.upload(`${label} ${first}`, data.subarray(first * seqFloats, first * seqFloats + floats)) : rt.buffer(`${label} ${first}`, floats * 4);
    first += count;
    return { first: first - count, count, buffer };
  });
  return { seqFloats, parts };
}

/** A tensor in parts read back whole. */
export async function readParts(rt: Runtime, t: SequenceParts): Promise<Float32Array> {
  const parts = await Promise.all(t.parts.map((p) => rt.read(p.buffer, p.count * t.seqFloats * 4)));
  const out = new Float32Array(t.parts.reduce((n, p) => n + p.count, 0) * t.seqFloats);
  t.parts.forEach((p, k) => out.set(parts[k].subarray(0, p.count * t.seqFloats), p.first * t.seqFloats));
  return out;
}

/** Labels of the bind groups made while `work` runs (a dispatch in parts names its part). */
export async function bindGroupLabels<T>(device: GPUDevice, work: () => Promise<T>): Promise<{ result: T; labels: string[] }> {
  const create = device.createBindGroup.bind(device);
  const labels: string[] = [];
  device.createBindGroup = (d) => (labels.push(d.label ?? ''), create(d));
  try {
    return { result: await work(), labels };
  } finally {
    device.createBindGroup = create;
  }
}
