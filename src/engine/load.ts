// Loading the engine: from a checkpoint (its weights packed as they are uploaded, and appended to an
// engine-ready copy when asked) or from an engine-ready copy (streamed into the buffers). Both are one
// `build`: tune the kernels (or find them tuned), make the weights' buffers, record the plan of a plain clip
// so that its kernels compile while the weights fill the buffers, then fill them.
import type { TimesformerConfig } from '../checkpoint/config';
import type { TimesformerWeights } from '../checkpoint/weights';
import { modelShapes } from '../model/kernel-shapes';
import { tuneKernels, type ForcedKernels, type KernelPicks } from './autotune';
import type { EngineDevice } from './device';
import { allocateCopy, allocatePacked, weightDType, type AllocatedWeights, type ByteSink, type ByteSource, type OpenedCopy } from './engine-weights';
import type { GemmVariant, WeightDType } from './kernels/gemm';
import { Runtime } from './runtime';
import type { EngineWeights } from './weight-layout';

/** How far a load is: weights to the GPU (bytes), kernels tuned and compiled (kernels ready of those made). */
export type LoadProgress = (stage: 'upload' | 'compile', done: number, total?: number) => void;

/** What making an engine takes besides its options: where its load reports progress, and a way to stop it. */
export interface LoadOptions {
  onProgress?: LoadProgress;
  signal?: AbortSignal;
  /** Record (and compile) the plan of a plain run of a [T, 3, H, W] clip before the engine is returned. */
  warm?: [number, number, number];
}

export interface EngineOptions {
  /** One GEMM variant for every GEMM instead of the autotuner's picks (src/engine/autotune.ts). */
  gemmVariant?: GemmVariant;
  /** Variants forced per kind of kernel instead of the autotuner's picks (tests, comparisons). */
  kernels?: ForcedKernels;
  /**
   * How Linear weights (97% of the parameters) live on the GPU. 'auto': f16 when the checkpoint
   * stores f16 (exact, half the memory), else f32. 'f16' also rounds f32 checkpoints to half.
   * Arithmetic is f32 either way.
   */
  weights?: 'auto' | WeightDType;
  /**
   * Bytes of GPU memory that recorded plans (activations, bind groups, staging) may keep. Plans are kept per
   * (input shape, request) and reused; past the budget the least recently used is destroyed (the one running
   * is always kept).
   */
  planBudgetBytes?: number;
  /** What an attention run ('maps') may read back per clip (default 64 MB) and keep on the GPU for readAttention() (1 GiB). */
  attentionBudgetBytes?: number;
  keptAttentionBytes?: number;
  /**
   * GPU memory the engine may take in all, where the device says (memory-plan.ts's fit at load): an explanation
   * whose plan would exceed it, beside the weights and the kept plans, is refused before anything is allocated.
   */
  memoryBudget?: { budgetBytes: number; budgetSource?: string };
}

/** What `build` hands the engine it makes: its own scope of the device's Runtime, the weights and the kernel picks. */
export interface LoadedParts {
  rt: Runtime;
  config: TimesformerConfig;
  weights: EngineWeights;
  kernels: KernelPicks;
}

/** An engine as loading sees it: made from the parts, then warmed while its weights fill. */
interface Warmable {
  warm(T: number, Hpx: number, Wpx: number): Promise<void>;
}

const forcedKernels = (o: EngineOptions): ForcedKernels => ({ ...o.kernels, gemm: o.gemmVariant ?? o.kernels?.gemm });

/**
 * Pack and upload a checkpoint's weights, appending the packed bytes to `options.keep` (an engine-ready copy
 * for next time) when given. Pass the device's Runtime to share its compiled kernels with preprocessing; a
 * bare EngineDevice gets one of its own.
 */
export function loadPacked<E extends Warmable>(
  gpu: Runtime | EngineDevice,
  model: { config: TimesformerConfig; weights: TimesformerWeights },
  options: EngineOptions & LoadOptions & { keep?: ByteSink },
  make: (parts: LoadedParts) => E,
): Promise<E> {
  const rt = gpu instanceof Runtime ? gpu.scope() : new Runtime(gpu);
  const { config: c, weights: w } = model;
  const dtype = weightDType(w, options.weights);
  return build(rt, c, dtype, () => allocatePacked(rt.device, (label, bytes) => rt.buffer(label, bytes), c, w, dtype, options.keep), options, make);
}

/** Load from an engine-ready copy checked by `openCopy`. The weight type is the copy's (`options.weights` is not applied). */
export function loadCopy<E extends Warmable>(rt: Runtime, source: ByteSource, opened: OpenedCopy, options: EngineOptions & LoadOptions, make: (parts: LoadedParts) => E): Promise<E> {
  const scope = rt.scope();
  return build(scope, opened.config, opened.manifest.dtype, () => allocateCopy(scope.device, (label, bytes) => scope.buffer(label, bytes), source, opened), options, make);
}

/**
 * Kernels tuned (or remembered) first, then the weights' buffers made and the plan for `options.warm`
 * recorded, so that its kernels compile while the weights fill the buffers. `rt` is the engine's own scope.
 */
async function build<E extends Warmable>(
  rt: Runtime,
  config: TimesformerConfig,
  dtype: WeightDType,
  allocate: () => AllocatedWeights | Promise<AllocatedWeights>,
  options: EngineOptions & LoadOptions,
  make: (parts: LoadedParts) => E,
): Promise<E> {
  let warmed: Promise<void> | undefined;
  try {
    options.onProgress?.('compile', 0);
    const kernels = await tuneKernels(rt, modelShapes(config, dtype), forcedKernels(options));
    options.onProgress?.('upload', 0);
    const allocated = await allocate();
    const engine = make({ rt, config, weights: allocated.weights, kernels });
    // Recording the plan starts its kernels compiling; they compile while the weights fill the buffers.
    warmed = options.warm ? engine.warm(...options.warm) : Promise.resolve();
    warmed.catch(() => {});
    await allocated.fill(options.onProgress && ((done, total) => options.onProgress!('upload', done, total)), options.signal);
    const compiling = rt.compileProgress();
    options.onProgress?.('compile', compiling.done, compiling.total);
    await warmed;
    return engine;
  } catch (e) {
    await warmed?.catch(() => {}); // its plan is recorded on buffers about to go
    rt.destroy();
    throw e;
  }
}
