// Benchmarks of the WGSL engine on any GPUDevice (Node/Dawn or a browser): per-kernel GFLOP/s and
// TimeSformer ms per view, and beside it the comparison backends (src/backends/: onnxruntime-web wasm and
// WebGPU, TensorFlow.js WebGPU and CPU) on the same models in the same run, so the ratios mean something.
// Median of `iterations` runs after a warm-up. Times are wall clock from the call to the logits (what a
// user waits for); GPU timestamps would miss the per-pass overheads. Each backend gets the clip as the app
// gives it: our engine on the GPU (the app's preprocessing leaves it there; here a GPU copy of it, as the live
// ring's clip is), the others as CPU pixels, which their run uploads.
import type { InferenceBackend } from '../backends/backend';
import { OUR_ENGINE, type BackendName } from '../backends/registry';
import type { EngineDevice } from '../engine/device';
import { tuneReport, type TuneReport } from '../engine/autotune';
import { ATTENTION_VARIANTS, attention, spatialTokens, temporalTokens } from '../engine/kernels/attention';
import { gemm, GEMM_TUNING, packLinear, type GemmVariant } from '../engine/kernels/gemm';
import { LAYER_NORM_TUNING, layerNorm } from '../engine/kernels/layernorm';
import { Runtime, type Step } from '../engine/runtime';
import { TimesformerEngine, type GpuClip } from '../engine/timesformer';
import { BENCH_MODELS, randomModel } from './random-model';

export interface BenchResult {
  name: string;
  /** Median milliseconds per run. */
  ms: number;
  /** Fastest and slowest of the timed runs. */
  minMs?: number;
  maxMs?: number;
  gflops?: number;
  /** Whole-model rows: the model and who ran it (OUR_ENGINE for our engine, else a comparison backend). */
  model?: string;
  backend?: BackendName;
  /** Comparison backends: ms to create the session / upload the weights (first-run compilation is in the warm-up). */
  setupMs?: number;
  /** Comparison backends: ms per view ÷ the engine's on the same model (> 1: slower than ours). */
  vsEngine?: number;
  /** The explanation row: ms of one class's explanation (forward and backward, one run) ÷ one forward pass's, same run. */
  vsForward?: number;
  /** A comparison backend that could not run: why. */
  error?: string;
}

/**
 * A comparison backend, made by the caller (Node or a page know where ONNX files are and how to load ORT)
 * for each bench model from its random weights (tfjs directly, ORT on their ONNX export by
 * src/backends/onnx-export.ts). `{ skip }` when it cannot run that model here.
 */
export interface ComparisonBackend {
  name: BackendName;
  create(model: string, weights: ReturnType<typeof randomModel>): Promise<InferenceBackend | { skip: string }>;
}

export interface BenchReport {
  adapter: EngineDevice['adapter'];
  gemmVariant: GemmVariant;
  /** The autotuner's picks and measurements per bench model (per shape class, on this adapter). */
  autotune: Record<string, TuneReport>;
  results: BenchResult[];
  /** Per model, GPU time of one view by kernel (where the device has timestamp-query). */
  profiles?: Record<string, KernelTime[]>;
}

/** A model to time: a random-weight BENCH_MODELS one by name, or one given with its weights (the app's loaded model). */
export type BenchModel = keyof typeof BENCH_MODELS | { name: string; model: ReturnType<typeof randomModel> };

export interface BenchOptions {
  iterations: number;
  models: BenchModel[];
  log?: (line: string) => void;
  /** Comparison backends to time on each model after the engine. */
  comparisons?: ComparisonBackend[];
  /** Skip the per-kernel numbers (GEMM, attention, LayerNorm): whole models only. */
  modelsOnly?: boolean;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Time `work` (which submits and resolves when the GPU is done). Before awaiting the GPU we sleep
 * for most of the last measured time: Dawn in Node busy-polls a core while a promise is pending,
 * which on a 2-core machine slows the (CPU-emulated) GPU it is waiting for.
 */
async function time(iterations: number, work: (politeWaitMs: number) => Promise<void>): Promise<{ ms: number; minMs: number; maxMs: number }> {
  let last = 0;
  await work(0); // compile + warm up
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await work(last * 0.8);
    times.push((last = performance.now() - t0));
  }
  return { ms: median(times), minMs: Math.min(...times), maxMs: Math.max(...times) };
}

async function runSteps(rt: Runtime, steps: Step[], politeWaitMs: number) {
  rt.device.queue.submit([rt.encode(steps).finish()]);
  if (politeWaitMs > 0) await sleep(politeWaitMs);
  await rt.device.queue.onSubmittedWorkDone();
}

export async function runBench(gpu: EngineDevice, options: BenchOptions): Promise<BenchReport> {
  const log = options.log ?? (() => {});
  const results: BenchResult[] = [];
  const record = (r: BenchResult) => {
    results.push(r);
    const extra = r.vsForward !== undefined ? `  ${r.vsForward.toFixed(2).padStart(7)}× a forward pass` : r.error ? `  ${r.error}` : r.gflops !== undefined ? `  ${r.gflops.toFixed(2).padStart(9)} GFLOP/s` : r.vsEngine !== undefined ? `  ${r.vsEngine.toFixed(2).padStart(7)}× ours  (setup ${r.setupMs!.toFixed(0)} ms)` : '';
    log(`${r.name.padEnd(48)} ${r.ms.toFixed(2).padStart(10)} ms${extra}`);
  };
  if (!options.modelsOnly) await benchKernels(gpu, options.iterations, record);

  // Whole model, one view, logits only (what the app runs per clip), then the comparison backends.
  let gemmVariant: GemmVariant = 'registers';
  const autotune: Record<string, TuneReport> = {};
  const profiles: Record<string, KernelTime[]> = {};
  for (const entry of options.models) {
    const { name, model } = typeof entry === 'string' ? { name: entry, model: randomModel(entry) } : entry;
    const c = model.config;
    const engine = await TimesformerEngine.create(gpu, model);
    gemmVariant = engine.gemmVariant;
    autotune[name] = tuneReport(engine.rt);
    for (const [cls, pick] of Object.entries(autotune[name].picks)) {
      const tried = (autotune[name].measurements[cls] ?? []).map((m) => `${m.variant} ${m.ms !== undefined ? `${m.ms.toFixed(1)} ms (compiled in ${m.compileMs!.toFixed(0)} ms)` : m.untimed ? `untimed: ${m.untimed}` : `rejected: ${m.rejected}`}`);
      log(`autotune ${name} ${cls}: ${pick}  (${tried.join(', ')})`);
    }
    const pixels = new Float32Array(c.numFrames * 3 * c.imageSize * c.imageSize).fill(0.1);
    const shape: [number, number, number, number] = [c.numFrames, 3, c.imageSize, c.imageSize];
    const onGpu = engine.rt.upload('bench clip', pixels);
    const clip: GpuClip = { encode: (encoder, target) => encoder.copyBufferToBuffer(onGpu, 0, target, 0, pixels.byteLength) };
    const ours = await time(options.iterations, () => engine.run(clip, shape, { attention: 'none', hiddenStates: false }).then(() => {}));
    const ms = ours.ms;
    record({ name: `timesformer-${name} ${c.numFrames}×${c.imageSize}² per view (${engine.gemmVariant})`, ...ours, model: name, backend: OUR_ENGINE });
    if (gpu.features.timestampQuery) {
      try {
        profiles[name] = kernelProfile(await engine.profile(shape));
        logProfile(log, 'GPU time by kernel (timestamps, one pass per dispatch)', profiles[name], 12);
      } catch (e) {
        log(`  GPU time by kernel: failed (${e instanceof Error ? e.message : String(e)})`);
      }
    }
    const maps = await time(options.iterations, () => engine.run(clip, shape, { attention: 'maps', hiddenStates: false }).then(() => {}));
    record({ name: `timesformer-${name} per view with attention maps`, ...maps });
    // Why this class: one class's explanation (src/engine/backward.ts) after the forward, in the same run.
    const whyName = `timesformer-${name} one class explained`;
    try {
      const why = await time(options.iterations, () => engine.run(clip, shape, { attention: 'none', hiddenStates: false, explain: [0] }).then(() => {}));
      record({ name: whyName, ...why, model: name, vsForward: why.ms / ms });
      if (gpu.features.timestampQuery) {
        logProfile(log, 'GPU time by kernel, forward and backward (timestamps)', kernelProfile(await engine.profile(shape, true)), 16);
      }
    } catch (e) {
      record({ name: whyName, ms: NaN, model: name, error: `FAILED: ${e instanceof Error ? e.message : String(e)}` });
    }
    engine.destroy();

    for (const comparison of options.comparisons ?? []) {
      const label = `timesformer-${name} per view: ${comparison.name}`;
      const t0 = performance.now();
      let backend: InferenceBackend | undefined;
      try {
        const made = await comparison.create(name, model);
        if ('skip' in made) {
          log(`${label.padEnd(48)}   skipped: ${made.skip}`);
          continue;
        }
        backend = made;
        const setupMs = performance.now() - t0;
        const theirs = await time(options.iterations, () => backend!.run(pixels, shape).then(() => {}));
        record({ name: label, ...theirs, model: name, backend: comparison.name, setupMs, vsEngine: theirs.ms / ms });
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        results.push({ name: label, ms: NaN, model: name, backend: comparison.name, error });
        log(`${label.padEnd(48)}   FAILED: ${error}`);
      } finally {
        await backend?.dispose().catch(() => {});
      }
    }
  }
  if (options.comparisons?.length) for (const line of sideBySide(results)) log(line);
  return { adapter: gpu.adapter, gemmVariant, autotune, results, ...(Object.keys(profiles).length ? { profiles } : {}) };
}

/** GPU time of one view spent in one kernel of the plan (summed over the layers it runs in). */
export interface KernelTime { kernel: string; ms: number; count: number }

/** The `top` slowest kernels of a profile, with their share of its total. */
function logProfile(log: (line: string) => void, title: string, kernels: KernelTime[], top: number) {
  const total = kernels.reduce((n, k) => n + k.ms, 0);
  log(`  ${title}: ${total.toFixed(2)} ms in all`);
  for (const k of kernels.slice(0, top)) log(`    ${k.kernel.padEnd(40)} ${k.ms.toFixed(3).padStart(9)} ms  ${((100 * k.ms) / total).toFixed(1).padStart(5)}%  ×${k.count}`);
}

/** A plan's dispatch times grouped by label without the layer ("L3 spatial qkv" → "spatial qkv"), slowest first. */
function kernelProfile(steps: { label: string; ms: number }[]): KernelTime[] {
  const byKernel = new Map<string, KernelTime>();
  for (const { label, ms } of steps) {
    const kernel = label.replace(/^L\d+ /, '');
    const k = byKernel.get(kernel) ?? byKernel.set(kernel, { kernel, ms: 0, count: 0 }).get(kernel)!;
    k.ms += ms;
    k.count++;
  }
  return [...byKernel.values()].sort((a, b) => b.ms - a.ms);
}

/** The JSON `npm run bench` writes and the benchmark page exports: when, where, and the report. */
export function benchDocument<R extends object>(runtime: string, report: R): { date: string; runtime: string } & R {
  return { date: new Date().toISOString(), runtime, ...report };
}

/** One line per model: ms per view of every backend that ran it, and its ratio to ours. */
export function sideBySide(results: BenchResult[]): string[] {
  const rows = results.filter((r) => r.model && r.backend);
  const models = [...new Set(rows.map((r) => r.model!))];
  const lines = ['', 'side by side, ms per view (× our engine):'];
  for (const model of models) {
    const cells = rows
      .filter((r) => r.model === model)
      .map((r) => (r.error ? `${r.backend} failed` : r.backend === OUR_ENGINE ? `${OUR_ENGINE} ${r.ms.toFixed(1)}` : `${r.backend} ${r.ms.toFixed(1)} (${r.vsEngine!.toFixed(2)}×)`));
    lines.push(`  ${model.padEnd(6)} ${cells.join(' | ')}`);
  }
  return lines;
}

/**
 * Per-kernel numbers at TimeSformer-base shapes. On a hardware GPU one kernel takes about as long as a
 * submission's round trip (≈0.1–0.3 ms on an H100), so each timed submission there runs the kernel
 * KERNEL_REPEATS times and the row reports the time of one.
 */
const KERNEL_REPEATS = 50;

async function benchKernels(gpu: EngineDevice, iterations: number, record: (r: BenchResult) => void) {
  const rt = new Runtime(gpu);
  const repeats = gpu.adapter.isFallback ? 1 : KERNEL_REPEATS;
  const timeKernel = async (steps: Step[]) => (await time(iterations, (wait) => runSteps(rt, Array.from({ length: repeats }, () => steps).flat(), wait))).ms / repeats;

  // GEMM: the TimeSformer-base qkv projection, 1569 × 768 → 2304, every variant that runs here (f16 arithmetic
  // on f16 weights).
  const [M, K, N] = [1569, 768, 2304];
  const a = rt.buffer('A', M * K * 4), y = rt.buffer('Y', M * N * 4);
  const linear32 = packLinear(rt, 'W', new Float32Array(N * K).fill(0.01), N, K, new Float32Array(N));
  const linear16 = packLinear(rt, 'W f16', new Uint16Array(N * K).fill(0x211f), N, K, new Float32Array(N));
  for (const variant of GEMM_TUNING.candidates(gpu, { M, N, K, dtype: 'f16' })) {
    const linear = variant === 'registers-f16' ? linear16 : linear32;
    const steps = gemm(rt, variant, variant, { a, M, linear, y });
    const ms = await timeKernel(steps);
    record({ name: `gemm ${variant} ${M}x${K}x${N}`, ms, gflops: (2 * M * K * N) / ms / 1e6 });
  }

  // Attention at base shapes (T=8, 14×14 grid, D=768, 12 heads), and LayerNorm over 1569 rows.
  const T = 8, P = 196, D = 768, H = 12, S = 1 + P * T;
  const qkv = rt.buffer('qkv', S * 3 * D * 4), ctx = rt.buffer('ctx', (S + T) * D * 4);
  const temporal = temporalTokens(T), spatial = spatialTokens(T);
  const attnCases = [
    { name: 'attention temporal 196×[8 tokens]', seqs: P, len: T, map: temporal },
    { name: 'attention spatial 8×[197 tokens]', seqs: T, len: 1 + P, map: spatial },
  ];
  for (const c of attnCases) {
    for (const variant of ATTENTION_VARIANTS) {
      const steps = [attention(rt, c.name, { qkv, context: ctx, probsMode: 'none', seqs: c.seqs, len: c.len, heads: H, D, input: c.map, output: c.map }, variant)];
      const ms = await timeKernel(steps);
      record({ name: `${c.name} ${variant}`, ms, gflops: (4 * c.seqs * c.len * c.len * D) / ms / 1e6 });
    }
  }
  const gamma = rt.buffer('gamma', D * 4), beta = rt.buffer('beta', D * 4);
  for (const variant of LAYER_NORM_TUNING.candidates(gpu, { rows: S, D })) {
    const lnSteps = [layerNorm(rt, 'ln', { x: ctx, y: qkv, gamma, beta, rows: S, D, eps: 1e-6 }, variant)];
    record({ name: `layernorm ${S}×${D} ${variant}`, ms: await timeKernel(lnSteps) });
  }
  rt.destroy();
}
