// The kernel autotuner (after llm.c's dev harness): for each shape class the engine will run, every
// candidate variant that can run on this device is first checked against the CPU reference on that shape
// (random inputs; a wrong kernel is rejected, never timed), then timed; the fastest valid one is picked.
// Picks are kept per device in the Runtime's memo, and `exportPicks`/`rememberPicks` carry them across
// visits as a small JSON keyed by the adapter, which the caller stores where it likes (the engine has no DOM).
import type { EngineDevice } from './device';
import { ATTENTION_TUNING } from './kernels/attention';
import { GEMM_TUNING, type GemmShape, type GemmVariant } from './kernels/gemm';
import { GEMM_TRANSPOSED_TUNING } from './kernels/gemm-transposed';
import { LAYER_NORM_TUNING } from './kernels/layernorm';
import type { Runtime, Step } from './runtime';
import type { KernelTuning, Trial } from './trial';

/**
 * The kernels that come in variants, by kind: each kernel's file says what its variants, shape classes,
 * candidates and trial are (trial.ts); the tuner here measures them and keeps the picks.
 */
export const TUNINGS = { gemm: GEMM_TUNING, attention: ATTENTION_TUNING, layerNorm: LAYER_NORM_TUNING, gemmTransposed: GEMM_TRANSPOSED_TUNING };
type Tunings = typeof TUNINGS;
type Kind = keyof Tunings;
type ShapeOf<K extends Kind> = Tunings[K] extends KernelTuning<infer S, infer _V> ? S : never;
type VariantOf<K extends Kind> = Tunings[K] extends KernelTuning<infer _S, infer V> ? V : never;
const KINDS = Object.keys(TUNINGS) as Kind[];
/** A kind's tuning, for code that handles every kind alike. */
const tuningOf = (kind: Kind) => TUNINGS[kind] as unknown as KernelTuning<unknown, string>;

/** Shapes of each kind (a model's: src/model/kernel-shapes.ts). */
export type ModelShapes = { [K in Kind]: ShapeOf<K>[] };
/** Kernel choices for the engine's plans, looked up synchronously while a plan is recorded. */
export type KernelPicks = { [K in Kind]: (shape: ShapeOf<K>) => VariantOf<K> };
/** Variants forced per kind of kernel instead of the tuner's picks (tests, comparisons). */
export type ForcedKernels = { [K in Kind]?: VariantOf<K> };

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

/** 2: CPU adapters pass over slow-compiling variants (version 1's picks there could name one). 3: LayerNorm's 'rows' variant (a CPU adapter's stored LayerNorm picks predate it). */
const TUNER_VERSION = 3;

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

/**
 * The device's limits that decide what the tuner offers and tries (`grants`: workgroup memory, invocations) and
 * whether a trial's buffers can be bound: the tier a browser hands out (WebGPU's baseline, or the adapter's own).
 */
const TIER_LIMITS = ['maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxStorageBufferBindingSize'] as const;

/**
 * Device identity for stored picks: the same driver, features and limits tier give the same candidates the same
 * speeds. Picks made among fewer candidates (the baseline tier) are not the adapter tier's, nor the reverse.
 */
export function adapterKey(gpu: EngineDevice): string {
  const a = gpu.adapter, f = gpu.features;
  const tier = TIER_LIMITS.map((name) => gpu.device.limits[name]).join(',');
  return [a.vendor, a.architecture, a.device, a.description, f.shaderF16 ? 'f16' : '', f.subgroups ? 'subgroups' : '', tier].join('|');
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
  const known = new Set<string>(KINDS.flatMap((kind) => tuningOf(kind).runnable(rt.gpu)));
  const { picks } = state(rt);
  for (const [cls, variant] of Object.entries(stored.picks)) if (typeof variant === 'string' && known.has(variant) && !picks.has(cls)) picks.set(cls, variant);
  return true;
}

export function tuneReport(rt: Runtime): TuneReport {
  const s = state(rt);
  return { adapter: adapterKey(rt.gpu), picks: Object.fromEntries(s.picks), measurements: Object.fromEntries(s.measurements) };
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

/** The pick for one shape of a kernel (measured once per class and device). */
export function tune<S, V extends string>(rt: Runtime, tuning: KernelTuning<S, V>, shape: S): Promise<V> {
  return tuneCandidates(rt, tuning.shapeClass(shape), tuning.candidates(rt.gpu, shape), tuning.trial(rt, shape));
}

/**
 * The GEMM variant for the probe shape M=256, K=N=768 (a TimeSformer-sized GEMM): what a device is
 * reported to use before a model is loaded.
 */
export function chooseGemmVariant(rt: Runtime): Promise<GemmVariant> {
  return tune(rt, GEMM_TUNING, { M: 256, N: 768, K: 768, dtype: 'f32' } satisfies GemmShape);
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

/** How a caller shares the GPU with the tuner: each class is tuned inside one `turn` (e.g. a scheduler's GPU turn). */
export type GpuTurn = <T>(work: () => Promise<T>) => Promise<T>;

/**
 * Tune every shape class of `shapes` but the forced kinds, one class per `turn`: ahead of the engine (e.g. from
 * the model's config while its weights download), whose `tuneKernels` then finds them tuned.
 */
export async function tuneShapes(rt: Runtime, shapes: ModelShapes, forced: ForcedKernels = {}, turn: GpuTurn = (work) => work()): Promise<void> {
  // A class picked already (remembered, or another shape of it) takes no turn.
  const inTurn = async (cls: string, work: () => Promise<unknown>) => void (state(rt).picks.has(cls) ? await work() : await turn(work));
  for (const kind of KINDS) {
    const tuning = tuningOf(kind);
    for (const s of forced[kind] ? [] : (shapes[kind] as unknown[])) await inTurn(tuning.shapeClass(s), () => tune(rt, tuning, s));
  }
}

/**
 * Tune every shape class of `shapes` (the model at its configured input) and return the lookups. A forced
 * variant is used for every shape of its kind instead (tests, comparisons).
 */
export async function tuneKernels(rt: Runtime, shapes: ModelShapes, forced: ForcedKernels = {}): Promise<KernelPicks> {
  await tuneShapes(rt, shapes, forced);
  const pick = (kind: Kind) => {
    const tuning = tuningOf(kind);
    return (s: unknown) => forced[kind] ?? nearest(rt, tuning.kind, tuning.shapeClass(s), tuning.candidates(rt.gpu, s));
  };
  return Object.fromEntries(KINDS.map((kind) => [kind, pick(kind)])) as unknown as KernelPicks;
}
