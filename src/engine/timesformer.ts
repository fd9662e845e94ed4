// TimeSformer on the WGSL engine: a loaded model (load.ts) that runs clips. Its forward pass is forward.ts
// (beside src/reference/timesformer.ts), its recorded plans and their read-back plans.ts, what a run reads
// back read-back.ts, its weights' layout weight-layout.ts.
import type { TimesformerConfig } from '../checkpoint/config';
import type { TimesformerWeights } from '../checkpoint/weights';
import { explainShapes, modelShapes } from '../model/kernel-shapes';
import { tuneShapes, type ForcedKernels } from './autotune';
import type { NamedTensors } from '../tensor';
import { GpuError, type EngineDevice } from './device';
import type { ByteSink, ByteSource, OpenedCopy } from './engine-weights';
import { recordForward, type EngineModel } from './forward';
import type { GemmVariant, WeightDType } from './kernels/gemm';
import { loadCopy, loadPacked, type EngineOptions, type LoadedParts, type LoadOptions } from './load';
import { DEFAULT_PLAN_BUDGET_BYTES, Plans, type AttentionSlice, type GpuClip } from './plans';
import { DEFAULT_ATTENTION_BUDGET, type RunRequest } from './read-back';
import type { Runtime } from './runtime';

export type { EngineOptions, LoadOptions, LoadProgress } from './load';
export type { AttentionSlice, GpuClip } from './plans';
export { DEFAULT_PLAN_BUDGET_BYTES } from './plans';
export type { RunRequest } from './read-back';

export class TimesformerEngine {
  readonly rt: Runtime;
  readonly config: TimesformerConfig;
  /** The GEMM variant of the largest GEMM class (qkv) at the configured input: what the UI reports. */
  readonly gemmVariant: GemmVariant;
  readonly weightDType: WeightDType;
  private readonly model: EngineModel;
  private readonly plans: Plans;
  private readonly forced: ForcedKernels;
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
    const [T, C, Hpx, Wpx] = shape;
    return this.exclusive(async () => {
      if (C !== 3 || (pixels instanceof Float32Array && pixels.length !== T * C * Hpx * Wpx)) {
        throw new GpuError(`pixels must be [T, 3, H, W]; got ${pixels instanceof Float32Array ? pixels.length : '?'} values for [${shape}]`);
      }
      const P = this.config.patchSize;
      if (Hpx < P || Wpx < P || T < 1) throw new GpuError(`a clip of ${T} frames of ${Wpx}×${Hpx} is smaller than one ${P}×${P} patch`);
      const labels = this.config.labels.length;
      for (const k of request.explain ?? []) if (!(Number.isInteger(k) && k >= 0 && k < labels)) throw new GpuError(`cannot explain class ${k}: the model has ${labels} labels`);
      // The backward's kernels are tuned when the model first explains (once per device), not at every load.
      if (request.explain?.length) await tuneShapes(this.rt, explainShapes(this.config, this.weightDType), this.forced);
      return this.plans.run(await this.planFor(T, Hpx, Wpx, request), pixels, request.explain);
    });
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
    // Canonical: the same request written in another key order or without returnInput reuses the plan.
    const { attention, hiddenStates, fullSpatialLayer, returnInput = false, rollout } = request;
    // Explaining records the backward pass, whichever classes: the class is written at run time.
    const explain = !!request.explain?.length;
    const key = JSON.stringify([T, Hpx, Wpx, { attention, hiddenStates, fullSpatialLayer, returnInput, rollout, explain }]);
    return this.plans.get(key, `a [${T}, 3, ${Hpx}, ${Wpx}] clip`, () => recordForward(this.model, key, T, Hpx, Wpx, request));
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
