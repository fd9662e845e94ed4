// The kernel autotuner (after llm.c's dev harness): for each shape class the engine will run, every
// candidate variant that can run on this device is first checked against the CPU reference on that shape
// (random inputs; a wrong kernel is rejected, never timed), then timed; the fastest valid one is picked.
// Picks are kept per device in the Runtime's memo, and `exportPicks`/`rememberPicks` carry them across
// visits as a small JSON keyed by the adapter, which the caller stores where it likes (the engine has no DOM).
import { floatToHalf, halfToFloat } from '../checkpoint/tensor';
import * as cpu from '../reference/ops';
import type { TimesformerConfig } from '../checkpoint/config';
import { grants, type EngineDevice } from './device';
import { ATTENTION_VARIANTS, attention, attentionNeeds, type AttentionVariant } from './kernels/attention';
import { gemm, gemmVariantsFor, packLinear, type GemmVariant, type WeightDType } from './kernels/gemm';
import { LAYER_NORM_NEEDS, LAYER_NORM_VARIANTS, layerNorm, type LayerNormVariant } from './kernels/layernorm';
import type { Runtime, Step } from './runtime';

export interface GemmShape { M: number; N: number; K: number; dtype: WeightDType }
export interface AttentionShape { seqs: number; len: number; heads: number; D: number }
export interface LayerNormShape { rows: number; D: number }

/** What the tuner found for one candidate on one shape class. */
export interface Measurement {
  variant: string;
  /** Best of the timed runs (wall clock, submit to done); absent when rejected or untimed. */
  ms?: number;
  /** Its pipeline's compile (0 when another class had compiled it already). */
  compileMs?: number;
  /** Why a valid candidate was not timed (on a CPU adapter, a compile too slow to pay at every load). */
  untimed?: string;
  /** Why the candidate was not timed: its output differed from the CPU reference (or it failed to run). */
  rejected?: string;
}

export interface TuneReport {
  adapter: string;
  /** Shape class → picked variant. */
  picks: Record<string, string>;
  /** Shape class → every candidate's measurement (classes remembered from a stored JSON have none). */
  measurements: Record<string, Measurement[]>;
}

/** The JSON a caller keeps between visits: picks for one adapter. */
export interface StoredPicks {
  adapter: string;
  /** How the picks were made (TUNER_VERSION): picks of an older tuner are measured again. */
  tuner: number;
  picks: Record<string, string>;
}

/** 2: CPU adapters pass over slow-compiling variants (version 1's picks there could name one). */
const TUNER_VERSION = 2;

interface TunerState {
  picks: Map<string, string>;
  measurements: Map<string, Measurement[]>;
  pending: Map<string, Promise<string>>;
  /** Variant → the longest its pipeline took to compile here (a class after the first finds it compiled). */
  compileMs: Map<string, number>;
}

const state = (rt: Runtime): TunerState => rt.memo('autotune', () => ({ picks: new Map(), measurements: new Map(), pending: new Map(), compileMs: new Map() }));

/**
 * On a CPU adapter a variant whose pipeline compiles longer than this is neither checked nor timed, and tried only
 * where nothing else is valid: there a compile runs on the cores that run everything else, at every load (a cached load's goal
 * is 2 s), and the timings of variants that compile slowly were within the noise of the simplest's (SwiftShader,
 * base model: attention kv-tiles compiled in 2.2–2.8 s against 0.2 s, GEMM tiled and tiled-128x64 in 1.0–1.7 s
 * against 0.15 s; picking kv-tiles by a noisy timing made each cached load 2.5 s longer). Set well between the two
 * groups, so that a busy machine does not move a variant from one to the other.
 */
export const CPU_ADAPTER_COMPILE_LIMIT_MS = 500;

/** Adapter identity for stored picks: the same driver and features give the same kernels the same speeds. */
export function adapterKey(gpu: EngineDevice): string {
  const a = gpu.adapter, f = gpu.features;
  return [a.vendor, a.architecture, a.device, a.description, f.shaderF16 ? 'f16' : '', f.subgroups ? 'subgroups' : ''].join('|');
}

const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
export const gemmClass = (s: GemmShape) => `gemm M≤${pow2(s.M)} N=${s.N} K=${s.K} ${s.dtype}`;
export const attentionClass = (s: AttentionShape) => `attention len≤${pow2(s.len)} seqs·heads≤${pow2(s.seqs * s.heads)} d=${s.D / s.heads}`;
export const layerNormClass = (s: LayerNormShape) => `layernorm rows≤${pow2(s.rows)} D=${s.D}`;

export function gemmCandidates(gpu: EngineDevice, s: GemmShape): GemmVariant[] {
  // The 128×128 tile is for big GPUs: on a CPU adapter it never wins and its compile alone takes seconds.
  return gemmVariantsFor(gpu, s.dtype, s.K).filter((v) => v !== 'tiled-128x128' || !gpu.adapter.isFallback);
}
export function attentionCandidates(gpu: EngineDevice, s: AttentionShape): AttentionVariant[] {
  // Tiles of 32 keys only pay when a workgroup's 64 queries share them: not for temporal attention (T keys).
  return ATTENTION_VARIANTS.filter((v) => grants(gpu, attentionNeeds(v, s.D / s.heads)) && (v !== 'kv-tiles' || s.len > 32));
}
export function layerNormCandidates(gpu: EngineDevice): LayerNormVariant[] {
  return LAYER_NORM_VARIANTS.filter((v) => grants(gpu, LAYER_NORM_NEEDS[v]));
}

/** The picks as JSON to store (e.g. in localStorage or a file) and hand back to `rememberPicks` next time. */
export function exportPicks(rt: Runtime): StoredPicks {
  return { adapter: adapterKey(rt.gpu), tuner: TUNER_VERSION, picks: Object.fromEntries(state(rt).picks) };
}

/**
 * Adopt stored picks if they were made on this adapter by this version of the tuner (else ignore them: returns
 * false). Only picks naming a variant that exists and can run here are taken; the rest of the classes are
 * measured when needed.
 */
export function rememberPicks(rt: Runtime, stored: StoredPicks): boolean {
  if (stored?.adapter !== adapterKey(rt.gpu) || stored.tuner !== TUNER_VERSION || typeof stored.picks !== 'object' || stored.picks === null) return false;
  const known = new Set<string>([...gemmVariantsFor(rt.gpu, 'f16', 4), ...ATTENTION_VARIANTS, ...layerNormCandidates(rt.gpu)]);
  const { picks } = state(rt);
  for (const [cls, variant] of Object.entries(stored.picks)) if (typeof variant === 'string' && known.has(variant) && !picks.has(cls)) picks.set(cls, variant);
  return true;
}

export function tuneReport(rt: Runtime): TuneReport {
  const s = state(rt);
  return { adapter: adapterKey(rt.gpu), picks: Object.fromEntries(s.picks), measurements: Object.fromEntries(s.measurements) };
}

/** One candidate set up on a shape: steps to run, and a check of its output against the CPU reference. */
export interface Trial {
  steps: Step[];
  /** undefined when the output matches the reference, else what differs. */
  check(): Promise<string | undefined>;
}

async function submit(rt: Runtime, steps: Step[]) {
  await rt.compiled(steps);
  rt.device.pushErrorScope('validation');
  rt.device.queue.submit([rt.encode(steps).finish()]);
  await rt.device.queue.onSubmittedWorkDone();
  const error = await rt.device.popErrorScope();
  if (error) throw new Error(error.message);
}

const GPU_TRIAL_REPEATS = 10;

/**
 * Validate then time each candidate (once per class and device), pick the fastest valid one. On a CPU adapter a
 * candidate that compiles too slowly is neither validated nor timed unless no other candidate is valid.
 */
export function tuneCandidates<V extends string>(rt: Runtime, cls: string, candidates: V[], setUp: (scope: Runtime, variant: V) => Trial): Promise<V> {
  const s = state(rt);
  const known = s.picks.get(cls);
  if (known && (candidates as string[]).includes(known)) return Promise.resolve(known as V);
  let pending = s.pending.get(cls);
  if (!pending) {
    // One candidate in a scope of its own: compiled, then checked against the reference, then timed when `time`
    // (unless it compiles too slowly for a CPU adapter: then it is only compiled).
    const tryCandidate = async (variant: V, time: boolean): Promise<Measurement> => {
      const scope = rt.scope();
      try {
        const trial = setUp(scope, variant);
        const compiling = performance.now();
        await scope.compiled(trial.steps);
        const compileMs = performance.now() - compiling;
        s.compileMs.set(variant, Math.max(compileMs, s.compileMs.get(variant) ?? 0));
        const longest = s.compileMs.get(variant)!;
        if (time && rt.gpu.adapter.isFallback && longest > CPU_ADAPTER_COMPILE_LIMIT_MS) {
          return { variant, compileMs, untimed: `compiles in ${(longest / 1000).toFixed(1)} s here, at every load: tried only where nothing else is valid` };
        }
        await submit(scope, trial.steps); // gives the output to check
        const wrong = await trial.check();
        if (wrong) return { variant, rejected: wrong };
        if (!time) return { variant, compileMs };
        // Best of up to 3 runs; one when a run is long (CPU adapters on big shapes), so tuning stays short.
        // On a hardware GPU a kernel takes about as long as a submission's round trip: a run there is
        // GPU_TRIAL_REPEATS of it in one submission, and the time is one kernel's.
        const repeats = rt.gpu.adapter.isFallback ? 1 : GPU_TRIAL_REPEATS;
        const timed = Array.from({ length: repeats }, () => trial.steps).flat();
        let best = Infinity;
        for (let i = 0, spent = 0; i < 3 && (i === 0 || spent < 300); i++) {
          const t0 = performance.now();
          await submit(scope, timed);
          const ms = performance.now() - t0;
          best = Math.min(best, ms / repeats);
          spent += ms;
        }
        return { variant, ms: best, compileMs };
      } catch (e) {
        return { variant, rejected: e instanceof Error ? e.message : String(e) };
      } finally {
        scope.destroy();
      }
    };
    pending = (async () => {
      const results: Measurement[] = [];
      for (const variant of candidates) results.push(await tryCandidate(variant, true));
      let pick = results.filter((r) => r.ms !== undefined).sort((a, b) => a.ms! - b.ms!)[0]?.variant as V | undefined;
      // Nothing timed is valid: the first slow one that is, else the first candidate (the simplest; the report says why).
      for (const [i, r] of results.entries()) {
        if (pick || !r.untimed) continue;
        const checked = await tryCandidate(r.variant as V, false);
        results[i] = checked.rejected ? checked : r;
        if (!checked.rejected) pick = r.variant as V;
      }
      pick ??= candidates[0];
      s.measurements.set(cls, results);
      s.picks.set(cls, pick);
      return pick;
    })();
    s.pending.set(cls, pending);
  }
  return pending as Promise<V>;
}

/**
 * A trial's inputs, made when the first candidate needs them and shared by the rest (a full-size class on a GPU
 * is tens of millions of values; a class whose pick is remembered needs none).
 */
const once = <T>(make: () => T) => {
  let value: T | undefined;
  return () => (value ??= make());
};

/** Seeded uniform numbers in [-1, 1). */
function random(n: number, seed: number): Float32Array {
  let x = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = (x / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Up to `count` row indices spread over [0, n), first and last included (the partial tiles). */
function sampleRows(n: number, count = 16): number[] {
  return [...new Set(Array.from({ length: Math.min(n, count) }, (_, i) => Math.round((i * (n - 1)) / Math.max(1, Math.min(n, count) - 1))))];
}

/**
 * |error| allowed for one GEMM output: f32 rounding, which grows with √K and the size of the terms (Σ|a·w|, the
 * probabilistic bound of Higham & Mary; without that term a base model's K = 3072 class failed every correct
 * variant by 1%), or f16 rounding of A and the 4-term f16 partial sums.
 */
export function gemmTolerance(variant: GemmVariant, K: number, absDot: number): number {
  return variant === 'registers-f16' ? 6 * 2 ** -11 * absDot + 1e-5 : Math.sqrt(K) * (2e-6 + 4 * 2 ** -24 * absDot) + 1e-6;
}

/**
 * Rows a trial runs on. A CPU adapter (SwiftShader, lavapipe) times candidates on at most 256 rows of the
 * class: the ranking holds there, and a base model's full shapes take minutes to tune on a CPU.
 */
const trialRows = (rt: Runtime, rows: number) => (rt.gpu.adapter.isFallback ? Math.min(rows, 256) : rows);

export function tuneGemm(rt: Runtime, shape: GemmShape): Promise<GemmVariant> {
  const { N, K, dtype } = shape;
  const M = trialRows(rt, shape.M);
  const made = once(() => {
    const a = random(M * K, 1), bias = random(N, 3), w32 = random(N * K, 2);
    const bits = dtype === 'f16' ? Uint16Array.from(w32, floatToHalf) : undefined;
    return { a, bias, w32, bits, w: bits ? Float32Array.from(bits, halfToFloat) : w32 };
  });
  return tuneCandidates(rt, gemmClass(shape), gemmCandidates(rt.gpu, shape), (scope, variant) => {
    const { a, bias, w32, bits, w } = made();
    const linear = packLinear(scope, 'tune W', bits ?? w32, N, K, bias);
    const y = scope.buffer('tune Y', M * N * 4);
    return {
      steps: [gemm(scope, `tune ${variant}`, variant, { a: scope.upload('tune A', a), M, linear, y })],
      async check() {
        const out = await scope.read(y, M * N * 4);
        const rows = sampleRows(M);
        const x = new Float32Array(rows.length * K);
        rows.forEach((r, i) => x.set(a.subarray(r * K, (r + 1) * K), i * K));
        const want = cpu.linear(x, rows.length, K, w, bias, N);
        const absDot = cpu.linear(x.map(Math.abs), rows.length, K, w.map(Math.abs), undefined, N);
        for (let i = 0; i < rows.length; i++) {
          for (let n = 0; n < N; n++) {
            const err = Math.abs(out[rows[i] * N + n] - want[i * N + n]);
            if (!(err <= gemmTolerance(variant, K, absDot[i * N + n]))) return `row ${rows[i]} column ${n}: |error| ${err.toExponential(2)}`;
          }
        }
        return undefined;
      },
    };
  });
}

/** softmax(q·kᵀ/√d)·v of one query (s, h, i) of contiguous sequences [seqs, len, 3D], in float64. */
function attentionRow(qkv: Float32Array, len: number, D: number, heads: number, s: number, h: number, i: number): Float64Array {
  const hd = D / heads, scale = 1 / Math.sqrt(hd);
  const at = (j: number, part: number, c: number) => qkv[(s * len + j) * 3 * D + part * D + h * hd + c];
  const scores = Float64Array.from({ length: len }, (_, j) => {
    let dot = 0;
    for (let c = 0; c < hd; c++) dot += at(i, 0, c) * at(j, 1, c);
    return dot * scale;
  });
  const max = Math.max(...scores);
  let sum = 0;
  for (let j = 0; j < len; j++) sum += scores[j] = Math.exp(scores[j] - max);
  const out = new Float64Array(hd);
  for (let j = 0; j < len; j++) for (let c = 0; c < hd; c++) out[c] += (scores[j] / sum) * at(j, 2, c);
  return out;
}

export function tuneAttention(rt: Runtime, shape: AttentionShape): Promise<AttentionVariant> {
  const { len, heads, D } = shape;
  const seqs = Math.max(1, Math.min(shape.seqs, Math.floor(trialRows(rt, shape.seqs * len) / len)));
  const made = once(() => random(seqs * len * 3 * D, 4).map((v) => v * 2));
  return tuneCandidates(rt, attentionClass(shape), attentionCandidates(rt.gpu, shape), (scope, variant) => {
    const qkv = made();
    const map = { hasCls: false, clsBase: 0, clsStride: 0, rowBase: 0, seqStride: len, tokenStride: 1 };
    const context = scope.buffer('tune context', seqs * len * D * 4);
    const args = { qkv: scope.upload('tune qkv', qkv), context, probsMode: 'none' as const, seqs, len, heads, D, input: map, output: map };
    return {
      steps: [attention(scope, `tune ${variant}`, args, variant)],
      async check() {
        const out = await scope.read(context, seqs * len * D * 4);
        const hd = D / heads;
        for (const s of sampleRows(seqs, 2)) for (const h of sampleRows(heads, 2)) for (const i of sampleRows(len, 8)) {
          const want = attentionRow(qkv, len, D, heads, s, h, i);
          for (let c = 0; c < hd; c++) {
            const err = Math.abs(out[(s * len + i) * D + h * hd + c] - want[c]);
            if (!(err <= 1e-5)) return `sequence ${s} head ${h} query ${i}: |error| ${err.toExponential(2)}`;
          }
        }
        return undefined;
      },
    };
  });
}

export function tuneLayerNorm(rt: Runtime, shape: LayerNormShape): Promise<LayerNormVariant> {
  const { D } = shape;
  const rows = trialRows(rt, shape.rows);
  const made = once(() => ({ x: random(rows * D, 5).map((v, i) => 3 * v + (i % 7)), gamma: random(D, 6), beta: random(D, 7) }));
  return tuneCandidates(rt, layerNormClass(shape), layerNormCandidates(rt.gpu), (scope, variant) => {
    const { x, gamma, beta } = made();
    const y = scope.buffer('tune y', rows * D * 4);
    const args = { x: scope.upload('tune x', x), y, gamma: scope.upload('tune gamma', gamma), beta: scope.upload('tune beta', beta), rows, D, eps: 1e-6 };
    return {
      steps: [layerNorm(scope, `tune ${variant}`, args, variant)],
      async check() {
        const out = await scope.read(y, rows * D * 4);
        const want = cpu.layerNorm(x, rows, D, gamma, beta, 1e-6);
        for (let i = 0; i < want.length; i++) {
          const err = Math.abs(out[i] - want[i]);
          if (!(err <= 1e-5)) return `element ${i}: |error| ${err.toExponential(2)}`;
        }
        return undefined;
      },
    };
  });
}

/**
 * The GEMM variant for the probe shape M=256, K=N=768 (a TimeSformer-sized GEMM): what a device is
 * reported to use before a model is loaded.
 */
export function chooseGemmVariant(rt: Runtime): Promise<GemmVariant> {
  return tuneGemm(rt, { M: 256, N: 768, K: 768, dtype: 'f32' });
}

/** Kernel choices for the engine's plans, looked up synchronously while a plan is recorded. */
export interface KernelPicks {
  gemm(shape: GemmShape): GemmVariant;
  attention(shape: AttentionShape): AttentionVariant;
  layerNorm(shape: LayerNormShape): LayerNormVariant;
}

export interface ForcedKernels {
  gemm?: GemmVariant;
  attention?: AttentionVariant;
  layerNorm?: LayerNormVariant;
}

/**
 * What a class that was never tuned gets (another input size than the one tuned at load): the pick of the
 * tuned class of the same kind nearest in size, preferring the same other dimensions; else the first candidate.
 */
function nearest<V extends string>(rt: Runtime, kind: string, cls: string, candidates: V[]): V {
  const size = (c: string) => Number(/≤(\d+)/.exec(c)?.[1] ?? 1);
  const rest = (c: string) => c.replace(/≤\d+/, '');
  const distance = (c: string) => (rest(c) === rest(cls) ? 0 : 100) + Math.abs(Math.log2(size(c) / size(cls)));
  const tuned = [...state(rt).picks].filter(([c, v]) => c.startsWith(kind) && (candidates as string[]).includes(v));
  tuned.sort((a, b) => distance(a[0]) - distance(b[0]));
  return (tuned[0]?.[1] as V | undefined) ?? candidates[0];
}

export interface ModelShapes {
  gemm: GemmShape[];
  attention: AttentionShape[];
  layerNorm: LayerNormShape[];
}

/** How a caller shares the GPU with the tuner: each class is tuned inside one `turn` (e.g. a scheduler's GPU turn). */
export type GpuTurn = <T>(work: () => Promise<T>) => Promise<T>;

/**
 * Tune every shape class of `shapes` but the forced kinds, one class per `turn`: ahead of the engine (e.g. from
 * the model's config while its weights download), whose `tuneKernels` then finds them tuned.
 */
export async function tuneShapes(rt: Runtime, shapes: ModelShapes, forced: ForcedKernels = {}, turn: GpuTurn = (work) => work()): Promise<void> {
  // A class picked already (remembered, or another shape of it) takes no turn.
  const tune = async (cls: string, work: () => Promise<unknown>) => void (state(rt).picks.has(cls) ? await work() : await turn(work));
  for (const s of forced.gemm ? [] : shapes.gemm) await tune(gemmClass(s), () => tuneGemm(rt, s));
  for (const s of forced.attention ? [] : shapes.attention) await tune(attentionClass(s), () => tuneAttention(rt, s));
  for (const s of forced.layerNorm ? [] : shapes.layerNorm) await tune(layerNormClass(s), () => tuneLayerNorm(rt, s));
}

/**
 * Tune every shape class of `shapes` (the model at its configured input) and return the lookups. A forced
 * variant is used for every shape of its kind instead (tests, comparisons).
 */
export async function tuneKernels(rt: Runtime, shapes: ModelShapes, forced: ForcedKernels = {}): Promise<KernelPicks> {
  await tuneShapes(rt, shapes, forced);
  return {
    gemm: (s) => forced.gemm ?? nearest(rt, 'gemm ', gemmClass(s), gemmCandidates(rt.gpu, s)),
    attention: (s) => forced.attention ?? nearest(rt, 'attention ', attentionClass(s), attentionCandidates(rt.gpu, s)),
    layerNorm: (s) => forced.layerNorm ?? nearest(rt, 'layernorm ', layerNormClass(s), layerNormCandidates(rt.gpu)),
  };
}

/** The shapes a model runs at its configured input (frames, image size): what the engine tunes at load. */
export function modelShapes(c: TimesformerConfig, dtype: WeightDType): ModelShapes {
  const D = c.hiddenSize, F = c.intermediateSize, heads = c.numHeads, T = c.numFrames, P = c.patchSize;
  const N = Math.floor(c.imageSize / P) ** 2;
  const spaceOnly = c.attentionType === 'space_only';
  const S = spaceOnly ? T * (1 + N) : 1 + N * T;
  const attn = (seqs: number, len: number) => ({ seqs, len, heads, D });
  return {
    gemm: [
      { M: T * N, N: D, K: 3 * P * P, dtype },
      { M: S, N: 3 * D, K: D, dtype },
      { M: S, N: D, K: D, dtype },
      { M: S, N: F, K: D, dtype },
      { M: S, N: D, K: F, dtype },
    ],
    attention: c.attentionType === 'divided_space_time' ? [attn(N, T), attn(T, 1 + N)] : spaceOnly ? [attn(T, 1 + N)] : [attn(1, S)],
    layerNorm: [{ rows: S, D }],
  };
}
