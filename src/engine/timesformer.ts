// TimeSformer on the WGSL engine: a loaded model (load.ts) that runs clips. Its forward pass is forward.ts
// (beside src/reference/timesformer.ts), its recorded plans and their read-back plans.ts, what a run reads
// back read-back.ts, its weights' layout weight-layout.ts.
import type { TimesformerConfig } from '../checkpoint/config';
import type { TimesformerWeights } from '../checkpoint/weights';
import { explainShapes, modelShapes } from '../model/kernel-shapes';
import { tuneShapes, type ForcedKernels } from './autotune';
import type { NamedTensors } from '../tensor';
import { GpuError, GpuMemoryError, type EngineDevice } from './device';
import type { ByteSink, ByteSource, OpenedCopy } from './engine-weights';
import { recordForward, type EngineModel } from './forward';
import type { GemmVariant, WeightDType } from './kernels/gemm';
import { explanationRefusal } from './memory-plan';
import { loadCopy, loadPacked, type EngineOptions, type LoadedParts, type LoadOptions } from './load';
import { DEFAULT_PLAN_BUDGET_BYTES, Plans, type AttentionSlice, type GpuClip } from './plans';
import { DEFAULT_ATTENTION_BUDGET, type RunRequest } from './read-back';
import type { Runtime } from './runtime';

export type { EngineOptions, LoadOptions, LoadProgress } from './load';
export type { AttentionSlice, GpuClip } from './plans';
export { DEFAULT_PLAN_BUDGET_BYTES } from './plans';
export type { RolloutRequest, RunRequest } from './read-back';

/** Pixels a batch of clips (runBatch) uploads per submission: a few base-size clips (4.8 MB each), one HR clip (38.5 MB). */
export const BATCH_PIXEL_BYTES = 64 * 2 ** 20;

/** A plan's key: the same request written in another key order or without returnInput reuses the plan. */
function planKey(T: number, Hpx: number, Wpx: number, request: RunRequest): string {
  const { attention, hiddenStates, fullSpatialLayer, returnInput = false, rollout } = request;
  // Explaining records the backward pass, whichever classes: the class is written at run time.
  const explain = !!request.explain?.length;
  return JSON.stringify([T, Hpx, Wpx, { attention, hiddenStates, fullSpatialLayer, returnInput, rollout, explain }]);
}

export class TimesformerEngine {
  readonly rt: Runtime;
  readonly config: TimesformerConfig;
  /** The GEMM variant of the largest GEMM class (qkv) at the configured input: what the UI reports. */
  readonly gemmVariant: GemmVariant;
  readonly weightDType: WeightDType;
  private readonly model: EngineModel;
  private readonly plans: Plans;
  private readonly forced: ForcedKernels;
  private readonly memoryBudget?: EngineOptions['memoryBudget'];
  private busy = false;
  private lost?: string;

  private constructor({ rt, config, weights, kernels }: LoadedParts, options: EngineOptions) {
    this.rt = rt;
    this.config = config;
    this.weightDType = weights.dtype;
    this.gemmVariant = kernels.gemm(modelShapes(config, weights.dtype).gemm[1]);
    const budget = { readBytes: options.attentionBudgetBytes ?? DEFAULT_ATTENTION_BUDGET.readBytes, keptBytes: options.keptAttentionBytes ?? DEFAULT_ATTENTION_BUDGET.keptBytes };
    this.model = { rt, config, weights, kernels, budget };
    this.plans = new Plans(rt, options.planBudgetBytes ?? DEFAULT_PLAN_BUDGET_BYTES);
    this.forced = options.kernels ?? {};
    this.memoryBudget = options.memoryBudget;
    rt.device.lost.then((info) => (this.lost = info.message || info.reason));
  }

  /**
   * Pack and upload a checkpoint's weights (weight-layout.ts: Linear weights transposed, f32 or f16), appending
   * the packed bytes to `options.keep` (an engine-ready copy for next time) when given, and tune the kernels
   * (src/engine/autotune.ts). Pass the device's Runtime to share its compiled kernels with preprocessing; a
   * bare EngineDevice gets one of its own.
   */
  static create(gpu: Runtime | EngineDevice, model: { config: TimesformerConfig; weights: TimesformerWeights }, options: EngineOptions & LoadOptions & { keep?: ByteSink } = {}): Promise<TimesformerEngine> {
    return loadPacked(gpu, model, options, (parts) => new TimesformerEngine(parts, options));
  }

  /**
   * An engine from an engine-ready copy (engine-weights.ts), checked by `openCopy`, streamed into its buffers.
   * The weight type is the copy's (`options.weights` is not applied).
   */
  static fromCopy(rt: Runtime, source: ByteSource, opened: OpenedCopy, options: EngineOptions & LoadOptions = {}): Promise<TimesformerEngine> {
    return loadCopy(rt, source, opened, options, (parts) => new TimesformerEngine(parts, options));
  }

  /** Record (and compile) the plan a plain run of a [T, 3, H, W] clip uses, so that the first clip does not wait for it. */
  async warm(T: number, Hpx: number, Wpx: number): Promise<void> {
    await this.planFor(T, Hpx, Wpx, { attention: 'none', hiddenStates: false, returnInput: false });
  }

  /** Run one clip: pixels [T, 3, Hpx, Wpx] normalized, from the CPU or the GPU. Outputs are named as the reference's. */
  run(pixels: Float32Array | GpuClip, shape: [number, number, number, number], request: RunRequest): Promise<NamedTensors> {
    const [T, , Hpx, Wpx] = shape;
    return this.exclusive(async () => {
      this.checkClip(pixels, shape);
      const labels = this.config.labels.length;
      for (const k of request.explain ?? []) if (!(Number.isInteger(k) && k >= 0 && k < labels)) throw new GpuError(`cannot explain class ${k}: the model has ${labels} labels`);
      if (request.explain?.length) {
        this.refuseUnfitting(T, Hpx, Wpx, request);
        // The backward's kernels are tuned when the model first explains (once per device), not at every load.
        await tuneShapes(this.rt, explainShapes(this.config, this.weightDType), this.forced);
      }
      return this.plans.run(await this.planFor(T, Hpx, Wpx, request), pixels, request.explain);
    });
  }

  /**
   * Run several clips of one shape (CPU pixels) with one request and no explanation, in as few submissions as
   * `maxPixelBytes` of their pixels allow, one read-back each (Plans.runBatch): each clip's outputs are what `run`
   * gives it alone.
   */
  runBatch(clips: Float32Array[], shape: [number, number, number, number], request: RunRequest, maxPixelBytes = BATCH_PIXEL_BYTES): Promise<NamedTensors[]> {
    const [T, , Hpx, Wpx] = shape;
    return this.exclusive(async () => {
      if (request.explain?.length) throw new GpuError('a batch of clips is run without a backward pass: explain a clip with run');
      for (const clip of clips) this.checkClip(clip, shape);
      if (!clips.length) return [];
      return this.plans.runBatch(await this.planFor(T, Hpx, Wpx, request), clips, maxPixelBytes);
    });
  }

  /** A clip [T, 3, H, W] of at least one patch, with as many pixels as its shape says when they are on the CPU. */
  private checkClip(pixels: Float32Array | GpuClip, shape: [number, number, number, number]) {
    const [T, C, Hpx, Wpx] = shape;
    if (C !== 3 || (pixels instanceof Float32Array && pixels.length !== T * C * Hpx * Wpx)) {
      throw new GpuError(`pixels must be [T, 3, H, W]; got ${pixels instanceof Float32Array ? pixels.length : '?'} values for [${shape}]`);
    }
    const P = this.config.patchSize;
    if (Hpx < P || Wpx < P || T < 1) throw new GpuError(`a clip of ${T} frames of ${Wpx}×${Hpx} is smaller than one ${P}×${P} patch`);
  }

  /**
   * GPU time of each kernel of a plain run of a [T, 3, H, W] clip (on the pixels its plan last held): see
   * Runtime.timeDispatches. `explain`: of the run with one class's backward pass (the class its seed last held).
   */
  profile(shape: [number, number, number, number], explain = false): Promise<{ label: string; ms: number }[]> {
    const [T, , Hpx, Wpx] = shape;
    return this.exclusive(async () => {
      const plan = await this.planFor(T, Hpx, Wpx, { attention: 'none', hiddenStates: false, returnInput: false, ...(explain ? { explain: [0] } : {}) });
      return this.rt.timeDispatches(plan.steps.concat(plan.explanation?.steps ?? []));
    });
  }

  /** `work` with the engine to itself (one clip at a time) on a live device; a failure once the device is lost says so. */
  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.lost) throw new GpuError(`the GPU device was lost (${this.lost}); reload the model`);
    if (this.busy) throw new GpuError('the engine is already running a clip');
    this.busy = true;
    try {
      return await work();
    } catch (e) {
      if (this.lost) throw new GpuError(`the GPU device was lost (${this.lost}); reload the model`);
      throw e;
    } finally {
      this.busy = false;
    }
  }

  /** The plan for this shape and request, recorded when not kept (plans.ts). */
  private planFor(T: number, Hpx: number, Wpx: number, request: RunRequest) {
    const key = planKey(T, Hpx, Wpx, request);
    return this.plans.get(key, `a [${T}, 3, ${Hpx}, ${Wpx}] clip`, () => recordForward(this.model, key, T, Hpx, Wpx, request));
  }

  /**
   * An explanation whose plan is not recorded yet and would not fit the device (its limits, and the memory budget
   * the load was fitted to) is refused in one line before anything is allocated (memory-plan.ts).
   */
  private refuseUnfitting(T: number, Hpx: number, Wpx: number, request: RunRequest) {
    if (this.plans.has(planKey(T, Hpx, Wpx, request))) return;
    const device = { maxBufferSize: this.rt.limits.buffer, maxStorageBufferBindingSize: this.rt.limits.binding, ...this.memoryBudget };
    const kept = this.plans.kept.reduce((n, p) => n + p.bytes, 0);
    const refusal = explanationRefusal(this.config, T, Hpx, Wpx, request, this.weightDType, device, kept, this.model.budget);
    if (refusal) throw new GpuMemoryError(refusal);
  }

  /**
   * Read slices of the attention probabilities the last run kept on the GPU ('maps'),
   * e.g. one query patch's spatial rows or one patch's temporal maps, without reading the rest back.
   */
  readAttention(slices: AttentionSlice[]): Promise<Float32Array[]> {
    if (this.busy) return Promise.reject(new GpuError('the engine is running a clip; read its attention when it is done'));
    return this.plans.readAttention(slices);
  }

  /** Keys of the kept plans, least recently used first (for tests and the memory readout). */
  get keptPlans(): { key: string; bytes: number }[] {
    return this.plans.kept;
  }

  /** Free every GPU buffer (the device stays with its owner). */
  destroy() {
    this.plans.destroy();
    this.rt.destroy();
  }
}
