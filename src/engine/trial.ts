// What the tuner (autotune.ts) needs of a kernel with variants, which the kernel's own file provides beside its
// WGSL: its variants, its shape classes, which variants to try on a shape, and a trial — a candidate set up on
// the shape with a check of its output against the CPU reference. And the helpers those trials share.
import type { EngineDevice } from './device';
import type { Runtime, Step } from './runtime';

/** One candidate set up on a shape: steps to run, and a check of its output against the CPU reference. */
export interface Trial {
  steps: Step[];
  /** undefined when the output matches the reference, else what differs. */
  check(): Promise<string | undefined>;
}

export interface KernelTuning<Shape, Variant extends string> {
  /** The prefix of its shape classes ('gemm '): an untuned class takes the pick of the nearest tuned one of its kind. */
  kind: string;
  shapeClass(s: Shape): string;
  /** The variants that can run here: what stored picks may name. */
  runnable(gpu: EngineDevice): readonly Variant[];
  /** The variants tried on a shape, the simplest first. */
  candidates(gpu: EngineDevice, s: Shape): Variant[];
  /** The trials of a shape: inputs made when the first candidate needs them, shared by the rest; each candidate in its own scope. */
  trial(rt: Runtime, s: Shape): (scope: Runtime, variant: Variant) => Trial;
}

const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
/** A size's class: the next power of two (`≤n` in a class name, which `nearest` in autotune.ts reads). */
export const sizeClass = (n: number) => `≤${pow2(n)}`;

/**
 * A trial's inputs, made when the first candidate needs them and shared by the rest (a full-size class on a GPU
 * is tens of millions of values; a class whose pick is remembered needs none).
 */
export const once = <T>(make: () => T) => {
  let value: T | undefined;
  return () => (value ??= make());
};

/** Seeded uniform numbers in [-1, 1). */
export function random(n: number, seed: number): Float32Array {
  let x = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = (x / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Up to `count` row indices spread over [0, n), first and last included (the partial tiles). */
export function sampleRows(n: number, count = 16): number[] {
  return [...new Set(Array.from({ length: Math.min(n, count) }, (_, i) => Math.round((i * (n - 1)) / Math.max(1, Math.min(n, count) - 1))))];
}

/**
 * Rows a trial runs on. A CPU adapter (SwiftShader, lavapipe) times candidates on at most 256 rows of the
 * class: the ranking holds there, and a base model's full shapes take minutes to tune on a CPU.
 */
export const trialRows = (rt: Runtime, rows: number) => (rt.gpu.adapter.isFallback ? Math.min(rows, 256) : rows);
