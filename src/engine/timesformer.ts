// TimeSformer on the WGSL engine. The forward pass mirrors src/reference/timesformer.ts step by step;
// see there for the semantics. Here each step is a kernel launch over GPU buffers, recorded once per
// input shape into a plan and replayed as one command submission per clip.
//
// Dimension key:
//   T frames   Gh×Gw grid   N = Gh·Gw patches   D hidden   H heads   F intermediate   L labels
//   S token rows: 1 + N·T (divided, joint: [CLS] + patches in (p, t) order) or T·(1+N) (space-only)
import type { TimesformerConfig } from '../checkpoint/config';
import type { RawTensor } from '../checkpoint/tensor';
import type { TimesformerWeights } from '../checkpoint/weights';
import { positionEmbeddings, timeEmbeddings } from '../reference/timesformer';
import { DEFAULT_ATTENTION_BUDGET_BYTES, DEFAULT_KEPT_ATTENTION_BYTES, MAPS_DISCARDS, planAttentionReadBack } from '../attention/budget';
import type { NamedTensors } from '../tensor';
import { GpuError, type EngineDevice } from './device';
import { attention, type AttentionArgs, type TokenMap } from './kernels/attention';
import { modelShapes, tuneKernels, type ForcedKernels, type KernelPicks } from './autotune';
import { allocateCopy, allocatePacked, weightDType, type AllocatedWeights, type ByteSink, type ByteSource, type EngineWeights, type OpenedCopy } from './engine-weights';
import { gemm, type GemmArgs, type GemmVariant, type PackedLinear, type WeightDType } from './kernels/gemm';
import { layerNorm } from './kernels/layernorm';
import { packedWords, packF16, unpackF16 } from './kernels/pack-f16';
import { embed, im2col } from './kernels/patch-embed';
import { rolloutLayout, RolloutRecorder } from './kernels/rollout';
import { rowMean } from './kernels/row-mean';
import { Runtime, type Step } from './runtime';

/**
 * A clip for the run (e.g. from the video preprocessing): records its work into the run's command encoder,
 * writing [T, 3, H, W] f32 into `target`, so that preprocessing and the model are one submission and the
 * pixels never visit the CPU; a clip made on the CPU (a CPU adapter's) writes it with writeBuffer instead.
 */
export interface GpuClip {
  /** Write the clip into `target` (STORAGE and COPY_DST: a clip made on the CPU is written with writeBuffer). */
  encode(encoder: GPUCommandEncoder, target: GPUBuffer): void;
}

/** What a run records besides the logits. */
export interface RunRequest {
  /**
   * 'maps': what the attention views draw, read back within the engine's attention budget
   * (src/attention/budget.ts): spatial CLS rows, the rollout at MAPS_DISCARDS, temporal maps and full
   * spatial matrices per head or head-averaged (`.mean`), the rest kept on the GPU for readAttention();
   * 'cls': only the CLS query's spatial (joint: full) rows, `attn.l.{spatial|full}.cls`, written by the
   * attention kernel itself: no rollout, nothing kept (the live overlay, once per clip);
   * 'all': every probability (verify).
   */
  attention: 'none' | 'maps' | 'cls' | 'all';
  /** Record hidden_states.i and last_hidden_state (verify). */
  hiddenStates: boolean;
  /** With 'maps': also the full spatial matrix of this layer. */
  fullSpatialLayer?: number;
  /** Also return the input clip as the model saw it (`pixel_values` [T, 3, H, W]), e.g. to display it. */
  returnInput?: boolean;
  /**
   * Attention rollout for every head fusion with this discard ratio, composed on the GPU from the full
   * probabilities (src/engine/kernels/rollout.ts): `rollout.<fusion>` and `rollout.<fusion>.layers`.
   */
  rollout?: { discard: number };
}

/** A slice of a kept attention tensor (`attn.l.temporal`, `attn.l.spatial`, `attn.l.full`): `count` floats from `offset`. */
export interface AttentionSlice {
  name: string;
  offset: number;
  count: number;
}

interface NormBuffers {
  gamma: GPUBuffer;
  beta: GPUBuffer;
}
interface LayerBuffers {
  temporal?: { norm: NormBuffers; qkv: PackedLinear; proj: PackedLinear; dense: PackedLinear };
  norm1: NormBuffers;
  qkv: PackedLinear;
  proj: PackedLinear;
  norm2: NormBuffers;
  fc1: PackedLinear;
  fc2: PackedLinear;
}

interface Output {
  name: string;
  shape: number[];
  buffer: GPUBuffer;
  offset: number;
  staging: GPUBuffer;
  /** 'f16': `buffer` holds the values packed two per word (packF16). */
  encoding: 'f32' | 'f16';
}

interface Plan {
  key: string;
  steps: Step[];
  pixels: GPUBuffer;
  outputs: Output[];
  buffers: GPUBuffer[];
  /** GPU memory its activations, outputs and staging buffers take (what the plan budget counts). */
  bytes: number;
  /** Full attention probabilities kept on the GPU ('maps'), by name, for readAttention(). */
  kept: Map<string, { buffer: GPUBuffer; shape: number[] }>;
}

/** Default budget of kept plans' GPU memory: a multi-view classification and a timeline's plans both stay. */
export const DEFAULT_PLAN_BUDGET_BYTES = 512 * 2 ** 20;

const forcedKernels = (o: EngineOptions): ForcedKernels => ({ ...o.kernels, gemm: o.gemmVariant ?? o.kernels?.gemm });

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
}

export class TimesformerEngine {
  /** Recorded plans by key, least recently used first. */
  private readonly plans = new Map<string, Plan>();
  private busy = false;
  /** The attention probabilities the last run kept on the GPU ('maps'). */
  private keptAttention?: Plan['kept'];
  /** Bytes an attention run ('maps') may read back, and keep on the GPU for readAttention(). */
  private attentionBudget = { readBytes: DEFAULT_ATTENTION_BUDGET_BYTES, keptBytes: DEFAULT_KEPT_ATTENTION_BYTES };
  private lost?: string;

  private constructor(
    readonly rt: Runtime,
    readonly config: TimesformerConfig,
    /** The position and time embeddings, kept on the CPU: plans resize them to their grid and frames. */
    private readonly embeddings: Pick<TimesformerWeights, 'posEmbed' | 'timeEmbed'>,
    private readonly layers: LayerBuffers[],
    private readonly embedW: { patch: PackedLinear; cls: GPUBuffer; norm: NormBuffers; head: PackedLinear },
    /** The autotuner's kernel variant per shape class (or the forced ones). */
    private readonly kernels: KernelPicks,
    /** The GEMM variant of the largest GEMM class (qkv) at the configured input: what the UI reports. */
    readonly gemmVariant: GemmVariant,
    readonly weightDType: WeightDType,
    private readonly planBudgetBytes: number,
  ) {
    rt.device.lost.then((info) => (this.lost = info.message || info.reason));
  }

  /**
   * Pack and upload a checkpoint's weights (engine-weights.ts: Linear weights transposed, f32 or f16), appending
   * the packed bytes to `options.keep` (an engine-ready copy for next time) when given, and tune the kernels
   * (src/engine/autotune.ts). Pass the device's Runtime to share its compiled kernels with preprocessing; a
   * bare EngineDevice gets one of its own.
   */
  static create(
    gpu: Runtime | EngineDevice,
    model: { config: TimesformerConfig; weights: TimesformerWeights },
    options: EngineOptions & LoadOptions & { keep?: ByteSink } = {},
  ): Promise<TimesformerEngine> {
    const rt = gpu instanceof Runtime ? gpu.scope() : new Runtime(gpu);
    const { config: c, weights: w } = model;
    const dtype = weightDType(w, options.weights);
    return TimesformerEngine.build(rt, c, dtype, () => allocatePacked(rt.device, (label, bytes) => rt.buffer(label, bytes), c, w, dtype, options.keep), options);
  }

  /**
   * An engine from an engine-ready copy (engine-weights.ts), checked by `openCopy`, streamed into its buffers.
   * The weight type is the copy's (`options.weights` is not applied).
   */
  static fromCopy(rt: Runtime, source: ByteSource, opened: OpenedCopy, options: EngineOptions & LoadOptions = {}): Promise<TimesformerEngine> {
    const scope = rt.scope();
    return TimesformerEngine.build(scope, opened.config, opened.manifest.dtype, () => allocateCopy(scope.device, (label, bytes) => scope.buffer(label, bytes), source, opened), options);
  }

  /**
   * Kernels tuned (or remembered) first, then the weights' buffers made and the plan for `options.warm`
   * recorded, so that its kernels compile while the weights fill the buffers. `rt` is the engine's own scope.
   */
  private static async build(rt: Runtime, c: TimesformerConfig, dtype: WeightDType, allocate: () => AllocatedWeights | Promise<AllocatedWeights>, options: EngineOptions & LoadOptions): Promise<TimesformerEngine> {
    let warmed: Promise<void> | undefined;
    try {
      options.onProgress?.('compile', 0);
      const kernels = await tuneKernels(rt, modelShapes(c, dtype), forcedKernels(options));
      options.onProgress?.('upload', 0);
      const allocated = await allocate();
      const engine = TimesformerEngine.assemble(rt, c, allocated.weights, kernels, options);
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

  private static assemble(rt: Runtime, c: TimesformerConfig, weights: EngineWeights, kernels: KernelPicks, options: EngineOptions): TimesformerEngine {
    const gpuBuffer = (label: string) => weights.gpu.get(label)!;
    const linear = (label: string): PackedLinear => ({ w: gpuBuffer(`${label}.weight`), bias: gpuBuffer(`${label}.bias`), dtype: weights.dtype, ...weights.linears.get(label)! });
    const norm = (label: string): NormBuffers => ({ gamma: gpuBuffer(`${label}.weight`), beta: gpuBuffer(`${label}.bias`) });
    const layers = Array.from({ length: c.numLayers }, (_, i): LayerBuffers => ({
      temporal:
        c.attentionType === 'divided_space_time'
          ? { norm: norm(`layer${i}.temporal_norm`), qkv: linear(`layer${i}.temporal_qkv`), proj: linear(`layer${i}.temporal_proj`), dense: linear(`layer${i}.temporal_dense`) }
          : undefined,
      norm1: norm(`layer${i}.norm1`),
      qkv: linear(`layer${i}.qkv`),
      proj: linear(`layer${i}.proj`),
      norm2: norm(`layer${i}.norm2`),
      fc1: linear(`layer${i}.fc1`),
      fc2: linear(`layer${i}.fc2`),
    }));
    const embedW = { patch: linear('patch_embed'), cls: gpuBuffer('cls_token'), norm: norm('final_norm'), head: linear('classifier') };
    const table = (label: string, shape: number[]): RawTensor => ({ dtype: 'F32', shape, bytes: new Uint8Array(weights.cpu.get(label)!.buffer) });
    const N = (c.imageSize / c.patchSize) ** 2;
    const embeddings = {
      posEmbed: table('position_embeddings', [1, 1 + N, c.hiddenSize]),
      timeEmbed: weights.cpu.has('time_embeddings') ? table('time_embeddings', [1, c.numFrames, c.hiddenSize]) : undefined,
    };
    const qkvShape = modelShapes(c, weights.dtype).gemm[1];
    const engine = new TimesformerEngine(rt, c, embeddings, layers, embedW, kernels, kernels.gemm(qkvShape), weights.dtype, options.planBudgetBytes ?? DEFAULT_PLAN_BUDGET_BYTES);
    engine.attentionBudget = { readBytes: options.attentionBudgetBytes ?? DEFAULT_ATTENTION_BUDGET_BYTES, keptBytes: options.keptAttentionBytes ?? DEFAULT_KEPT_ATTENTION_BYTES };
    return engine;
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
      const plan = await this.planFor(T, Hpx, Wpx, request);
      this.keptAttention = plan.kept.size > 0 ? plan.kept : undefined;
      const { device } = this.rt;
      const encoder = device.createCommandEncoder();
      if (pixels instanceof Float32Array) device.queue.writeBuffer(plan.pixels, 0, pixels.buffer, pixels.byteOffset, pixels.byteLength);
      else pixels.encode(encoder, plan.pixels);
      this.rt.encode(plan.steps, encoder);
      for (const o of plan.outputs) encoder.copyBufferToBuffer(o.buffer, o.offset, o.staging, 0, o.staging.size);
      device.pushErrorScope('validation');
      device.queue.submit([encoder.finish()]);
      const error = await device.popErrorScope();
      if (error) throw new GpuError(`GPU validation error: ${error.message}`);
      await Promise.all(plan.outputs.map((o) => o.staging.mapAsync(GPUMapMode.READ)));
      const result: NamedTensors = new Map();
      for (const o of plan.outputs) {
        const range = o.staging.getMappedRange();
        const n = o.shape.reduce((x, y) => x * y, 1);
        result.set(o.name, o.encoding === 'f16' ? { shape: o.shape, data: unpackF16(range, n), readBytes: range.byteLength } : { shape: o.shape, data: new Float32Array(range.slice(0)) });
        o.staging.unmap();
      }
      return result;
    });
  }

  /** GPU time of each kernel of a plain run of a [T, 3, H, W] clip (on the pixels its plan last held): see Runtime.timeDispatches. */
  profile(shape: [number, number, number, number]): Promise<{ label: string; ms: number }[]> {
    const [T, , Hpx, Wpx] = shape;
    return this.exclusive(async () => this.rt.timeDispatches((await this.planFor(T, Hpx, Wpx, { attention: 'none', hiddenStates: false, returnInput: false })).steps));
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

  /**
   * The recorded plan for this shape and request: reused when kept, else recorded (and the least recently
   * used plans beyond the memory budget destroyed). A GPU error while recording (out of memory, a validation
   * error) is a GpuError here, not an uncaptured error later.
   */
  private async planFor(T: number, Hpx: number, Wpx: number, request: RunRequest): Promise<Plan> {
    // Canonical: the same request written in another key order or without returnInput reuses the plan.
    const { attention, hiddenStates, fullSpatialLayer, returnInput = false, rollout } = request;
    const key = JSON.stringify([T, Hpx, Wpx, { attention, hiddenStates, fullSpatialLayer, returnInput, rollout }]);
    const kept = this.plans.get(key);
    if (kept) {
      this.plans.delete(key); // re-inserted: most recently used
      this.plans.set(key, kept);
      return kept;
    }
    const { device } = this.rt;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let plan: Plan | undefined;
    let recordError: unknown;
    try {
      plan = this.record(key, T, Hpx, Wpx, request);
    } catch (e) {
      recordError = e;
    }
    // Both scopes closed at once, before any wait: other GPU work (tuning, uploads) may push scopes meanwhile.
    const popped = Promise.all([device.popErrorScope(), device.popErrorScope()]);
    // Its kernels compile in the background (and, at load, while the weights stream in): wait for them here.
    const compileError = plan && (await this.rt.compiled(plan.steps).then(() => undefined, (e: Error) => e));
    const errors = (await popped).filter((e) => e !== null);
    if (errors.length || compileError || recordError) {
      if (plan) this.releasePlan(plan);
      if (!errors.length && !compileError) throw recordError;
      const why = errors.map((e) => e.message).concat(compileError ? [compileError.message] : []);
      throw new GpuError(`recording the plan for a [${T}, 3, ${Hpx}, ${Wpx}] clip failed: ${why.join('; ')}`);
    }
    if (!plan) throw recordError;
    this.plans.set(key, plan);
    let total = [...this.plans.values()].reduce((n, p) => n + p.bytes, 0);
    for (const [oldKey, old] of this.plans) {
      if (total <= this.planBudgetBytes || old === plan) break;
      this.plans.delete(oldKey);
      this.releasePlan(old);
      total -= old.bytes;
    }
    return plan;
  }

  /**
   * Read slices of the attention probabilities the last run kept on the GPU ('maps'),
   * e.g. one query patch's spatial rows or one patch's temporal maps, without reading the rest back.
   */
  async readAttention(slices: AttentionSlice[]): Promise<Float32Array[]> {
    if (this.busy) throw new GpuError('the engine is running a clip; read its attention when it is done');
    const kept = this.keptAttention;
    if (!kept) throw new GpuError("no attention is kept on the GPU: run a clip with attention 'maps' first");
    for (const s of slices) {
      const k = kept.get(s.name);
      const size = k?.shape.reduce((x, y) => x * y) ?? 0;
      if (!k) throw new GpuError(`${s.name} is not kept on the GPU (kept: ${[...kept.keys()].join(', ')})`);
      if (!(Number.isInteger(s.offset) && Number.isInteger(s.count) && s.offset >= 0 && s.count > 0 && s.offset + s.count <= size)) {
        throw new GpuError(`${s.name}: slice [${s.offset}, +${s.count}) is outside its ${size} values`);
      }
    }
    const total = slices.reduce((n, s) => n + s.count, 0);
    const { device } = this.rt;
    const staging = device.createBuffer({ label: 'attention slices staging', size: total * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const encoder = device.createCommandEncoder();
      let at = 0;
      for (const s of slices) {
        encoder.copyBufferToBuffer(kept.get(s.name)!.buffer, s.offset * 4, staging, at * 4, s.count * 4);
        at += s.count;
      }
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const all = new Float32Array(staging.getMappedRange().slice(0));
      let from = 0;
      return slices.map((s) => all.slice(from, (from += s.count)));
    } finally {
      staging.destroy();
    }
  }

  /** Keys of the kept plans, least recently used first (for tests and the memory readout). */
  get keptPlans(): { key: string; bytes: number }[] {
    return [...this.plans.values()].map((p) => ({ key: p.key, bytes: p.bytes }));
  }

  private record(key: string, T: number, Hpx: number, Wpx: number, request: RunRequest): Plan {
    const { rt, config: c, layers } = this;
    const D = c.hiddenSize, H = c.numHeads, F = c.intermediateSize, P = c.patchSize, eps = c.layerNormEps;
    const gh = Math.floor(Hpx / P), gw = Math.floor(Wpx / P), N = gh * gw;
    const spaceOnly = c.attentionType === 'space_only';
    const seqLen = spaceOnly ? 1 + N : 1 + N * T; // tokens per sequence
    const B = spaceOnly ? T : 1; // sequences (CLS rows)
    const S = B * seqLen; // token rows
    const L = c.labels.length;

    const buffers: GPUBuffer[] = [];
    const buf = (label: string, floats: number) => {
      const b = rt.buffer(label, floats * 4);
      buffers.push(b);
      return b;
    };
    const pixels = buf('pixels', T * 3 * Hpx * Wpx);
    const patches = buf('patches', T * N * 3 * P * P);
    const embedded = buf('embedded patches', T * N * D);
    const h = buf('h', S * D), h2 = buf('h2', S * D), xt = buf('xt', S * D), a = buf('normed', S * D);
    const qkv = buf('qkv', S * 3 * D), ctx = buf('context', (S + T) * D), tmp = buf('tmp', S * D), mlp = buf('mlp', S * F);
    const logits = buf('logits', B * L);
    const pos = rt.upload('position embeddings', positionEmbeddings(c, this.embeddings, gh, gw));
    const time = spaceOnly ? undefined : rt.upload('time embeddings', timeEmbeddings(c, this.embeddings, T));
    buffers.push(pos, ...(time ? [time] : []));

    const outputs: Output[] = [];
    const output = (name: string, shape: number[], buffer = buf(name, shape.reduce((x, y) => x * y)), offset = 0, encoding: Output['encoding'] = 'f32') => {
      const n = shape.reduce((x, y) => x * y);
      const bytes = encoding === 'f16' ? packedWords(n) * 4 : n * 4;
      const staging = rt.device.createBuffer({ label: `${name} staging`, size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      buffers.push(staging);
      outputs.push({ name, shape, buffer, offset, staging, encoding });
      return buffer;
    };
    const { kernels } = this;
    const mm = (label: string, args: GemmArgs) => gemm(rt, label, kernels.gemm({ M: args.M, N: args.linear.N, K: args.linear.K, dtype: args.linear.dtype }), args);
    const steps: Step[] = [];
    const snapshot = (name: string) => {
      if (!request.hiddenStates) return;
      const copy = output(name, [B, seqLen, D]);
      steps.push({ kind: 'copy', label: name, src: h, srcOffset: 0, dst: copy, dstOffset: 0, size: S * D * 4 });
    };

    // Embeddings: patches → tokens with CLS, position and time embeddings.
    steps.push(im2col(rt, 'im2col', pixels, patches, T, Hpx, Wpx, P));
    steps.push(mm('patch embed', { a: patches, M: T * N, linear: this.embedW.patch, y: embedded }));
    steps.push(embed(rt, 'embed', { patches: embedded, cls: this.embedW.cls, pos, time, h, T, N, D, perFrame: spaceOnly }));
    snapshot('hidden_states.0');

    const whole: TokenMap = { hasCls: true, clsBase: 0, clsStride: seqLen, rowBase: 1, seqStride: seqLen, tokenStride: 1 };
    const rolloutShape = rolloutLayout(c.attentionType, c.numLayers, H, T, N);
    const frameValues = T * 3 * Hpx * Wpx;
    const outputBytes = B * L * 4 + (request.returnInput ? packedWords(frameValues) * 4 : 0);
    const maps = request.attention === 'maps' ? planAttentionReadBack({ attentionType: c.attentionType, layers: c.numLayers, frames: T, patches: N, heads: H }, this.attentionBudget.readBytes, this.attentionBudget.keptBytes, outputBytes) : undefined;
    const discards = request.rollout ? [request.rollout.discard] : maps ? MAPS_DISCARDS : undefined;
    const rollout = discards && new RolloutRecorder(rt, rolloutShape.vector, discards, buf, maps?.fusions);
    const kept: Plan['kept'] = new Map();
    let scratch: GPUBuffer | undefined; // the largest sub-layer's probabilities, made on first use
    /**
     * One attention step and where its probabilities go: every one read back (`full`, under `name`), the CLS
     * rows (`cls`, `name`.cls), the head mean (`mean`, `name`.mean, the rollout's fused matrices), kept on the
     * GPU (`keep`). A rollout needs every probability on the GPU: when no dedicated buffer holds them they go
     * to one scratch buffer that the rollout fuses from before the next step overwrites it.
     */
    const attend = (l: number, sub: number, label: string, name: string, want: { full: boolean; cls?: boolean; mean?: boolean; keep?: boolean }, args: Omit<AttentionArgs, 'probs' | 'probsMode'>) => {
      const fullShape = [args.seqs, H, args.len, args.len];
      let probs: GPUBuffer | undefined;
      if (want.full) probs = output(name, fullShape);
      else if (want.keep) probs = buf(name, fullShape.reduce((x, y) => x * y));
      else if (rollout) probs = scratch ??= buf('attention probabilities scratch', H * Math.max(...rolloutShape.subLayers.map((u) => u.seqs * u.len * u.len)));
      if (probs && (want.full || want.keep)) kept.set(name, { buffer: probs, shape: fullShape });
      const clsRows = want.cls ? output(`${name}.cls`, [args.seqs, H, args.len]) : undefined;
      steps.push(attention(rt, label, { ...args, probs: probs ?? clsRows, probsMode: probs ? 'all' : clsRows ? 'cls' : 'none' }, kernels.attention(args)));
      if (clsRows && probs) {
        for (let r = 0; r < args.seqs * H; r++) {
          steps.push({ kind: 'copy', label: `${name} CLS row ${r}`, src: probs, srcOffset: r * args.len * args.len * 4, dst: clsRows, dstOffset: r * args.len * 4, size: args.len * 4 });
        }
      }
      const fused = probs && rollout?.subLayer(steps, l, label, { ...rolloutShape.subLayers[sub], probs });
      if (want.mean) output(`${name}.mean`, [args.seqs, args.len, args.len], fused!.get('mean'));
    };
    for (let l = 0; l < c.numLayers; l++) {
      const lw = layers[l];
      const norm = (label: string, n: NormBuffers, x: GPUBuffer, y: GPUBuffer, rows: number, offset = 0) =>
        layerNorm(rt, label, { x, y, gamma: n.gamma, beta: n.beta, rows, D, eps, inOffset: offset, outOffset: offset }, kernels.layerNorm({ rows, D }));
      let residual = h; // what the attention block adds to
      if (lw.temporal) {
        // Temporal attention over each patch's T tokens (rows 1 + p·T + t); the CLS row stays as it is.
        const tw = lw.temporal;
        const rows = N * T;
        steps.push(norm(`L${l} temporal norm`, tw.norm, h, a, rows, D));
        steps.push(mm(`L${l} temporal qkv`, { a, aOffset: D, M: rows, linear: tw.qkv, y: qkv, yOffset: 3 * D }));
        const map: TokenMap = { hasCls: false, clsBase: 0, clsStride: 0, rowBase: 1, seqStride: T, tokenStride: 1 };
        const temporal = { full: request.attention === 'all' || maps?.temporal === 'heads', mean: maps?.temporal === 'mean', keep: maps?.keepTemporal };
        attend(l, 0, `L${l} temporal attention`, `attn.${l}.temporal`, temporal, { qkv, context: ctx, seqs: N, len: T, heads: H, D, input: map, output: map });
        steps.push(mm(`L${l} temporal proj`, { a: ctx, aOffset: D, M: rows, linear: tw.proj, y: tmp, yOffset: D }));
        steps.push(mm(`L${l} temporal dense`, { a: tmp, aOffset: D, M: rows, linear: tw.dense, y: xt, yOffset: D, residual: { buffer: h, offset: D } }));
        steps.push({ kind: 'copy', label: `L${l} cls`, src: h, srcOffset: 0, dst: xt, dstOffset: 0, size: D * 4 });

        // Spatial attention: per frame t, [CLS, the N patches of frame t] read in place (rows 1 + p·T + t).
        // The CLS row is normalized and projected once; its T per-frame outputs go to rows S.. and are averaged.
        steps.push(norm(`L${l} spatial norm`, lw.norm1, xt, a, S));
        steps.push(mm(`L${l} spatial qkv`, { a, M: S, linear: lw.qkv, y: qkv }));
        const spatial = { full: request.attention === 'all' || request.fullSpatialLayer === l || maps?.spatial === 'heads', cls: maps !== undefined || request.attention === 'cls', mean: maps?.spatial === 'mean', keep: maps?.keepSpatial };
        const input: TokenMap = { hasCls: true, clsBase: 0, clsStride: 0, rowBase: 1, seqStride: 1, tokenStride: T };
        attend(l, 1, `L${l} spatial attention`, `attn.${l}.spatial`, spatial, { qkv, context: ctx, seqs: T, len: 1 + N, heads: H, D, input, output: { ...input, clsBase: S, clsStride: 1 } });
        steps.push(rowMean(rt, `L${l} cls mean`, ctx, D, T, S * D, D, 0));
        residual = xt;
      } else {
        // Joint (one sequence of 1+N·T) or space-only (T sequences of 1+N): attention over whole sequences.
        steps.push(norm(`L${l} norm1`, lw.norm1, h, a, S));
        steps.push(mm(`L${l} qkv`, { a, M: S, linear: lw.qkv, y: qkv }));
        const full = { full: request.attention === 'all' || maps?.spatial === 'heads', cls: maps !== undefined || request.attention === 'cls', mean: maps?.spatial === 'mean', keep: maps?.keepSpatial };
        attend(l, 0, `L${l} attention`, `attn.${l}.full`, full, { qkv, context: ctx, seqs: B, len: seqLen, heads: H, D, input: whole, output: whole });
      }
      steps.push(mm(`L${l} proj`, { a: ctx, M: S, linear: lw.proj, y: h2, residual: { buffer: residual } }));
      // MLP
      steps.push(norm(`L${l} norm2`, lw.norm2, h2, a, S));
      steps.push(mm(`L${l} fc1`, { a, M: S, linear: lw.fc1, y: mlp, gelu: true }));
      steps.push(mm(`L${l} fc2`, { a: mlp, M: S, linear: lw.fc2, y: h, residual: { buffer: h2 } }));
      snapshot(`hidden_states.${l + 1}`);
    }

    // Head: final LayerNorm (of every row when recording, else only the CLS rows), classifier on the CLS rows.
    const fn = this.embedW.norm;
    if (request.hiddenStates) {
      const last = output('last_hidden_state', [B, seqLen, D]);
      steps.push(layerNorm(rt, 'final norm', { x: h, y: last, gamma: fn.gamma, beta: fn.beta, rows: S, D, eps }, kernels.layerNorm({ rows: S, D })));
      steps.push(mm('classifier', { a: last, M: B, lda: seqLen * D, linear: this.embedW.head, y: logits }));
    } else {
      steps.push(layerNorm(rt, 'final norm', { x: h, y: a, gamma: fn.gamma, beta: fn.beta, rows: B, D, eps, inStride: seqLen * D }, kernels.layerNorm({ rows: B, D })));
      steps.push(mm('classifier', { a, M: B, linear: this.embedW.head, y: logits }));
    }
    output('logits', [B, L], logits);
    if (request.returnInput) {
      // For display only: read back as f16, half the bytes (a long clip's frames dominate its read-back).
      const packed = buf('pixel_values f16', packedWords(frameValues));
      steps.push(packF16(rt, 'pack pixel_values', pixels, packed, frameValues));
      output('pixel_values', [T, 3, Hpx, Wpx], packed, 0, 'f16');
    }
    rollout?.finish(steps, (name, shape) => output(name, shape));
    return { key, steps, pixels, outputs, buffers, bytes: buffers.reduce((n, b) => n + b.size, 0), kept };
  }

  private releasePlan(plan: Plan) {
    if (plan.kept === this.keptAttention) this.keptAttention = undefined;
    this.rt.release(plan.buffers);
    this.rt.release(plan.steps.flatMap((s) => (s.kind === 'dispatch' ? [s.params] : [])));
  }

  /** Free every GPU buffer (the device stays with its owner). */
  destroy() {
    for (const plan of this.plans.values()) this.releasePlan(plan);
    this.plans.clear();
    this.rt.destroy();
  }
}
