// The inference service: the one long-lived owner, inside the worker, of the GPU device (and its one Runtime,
// shared by preprocessing and every backend), the loaded model and the backend that runs it, and the scheduler
// through which every request uses them. inference.worker.ts only turns messages into calls here; what each
// request does is in its own file (model-loading.ts, classify.ts, timeline.ts, explain.ts).
import type { ClipInput, ClipShape, InferenceBackend, RunOptions } from '../backends/backend';
import { createBrowserBackend } from '../backends/browser';
import type { BackendChoice } from '../backends/choose';
import { OUR_ENGINE } from '../backends/registry';
import { isWgslBackend } from '../backends/wgsl';
import { GpuError, requestEngineDevice, type DeviceTier } from '../engine/device';
import { deviceMemory, memoryBudget } from '../engine/memory-plan';
import { Runtime } from '../engine/runtime';
import type { AttentionSlice, GpuClip } from '../engine/timesformer';
import type { PreprocessedClip } from '../preprocess/frame-store';
import type { NamedTensors } from '../tensor';
import { classifyVideo } from './classify';
import { explainVideo } from './explain';
import { loadModelInto, type Gpu, type Loaded, type ProgressFn } from './model-loading';
import type { ClassifyOptions, ClassifyResult, ExplainOptions, ExplainResult, ModelInfo, ModelRef, Scheduling, TimelineSegment } from './protocol';
import { Scheduler, type Task } from './scheduler';
import { timelineOf } from './timeline';

/** Asked for a model run before any model was loaded: the user's next step, not a GPU failure. */
export class NoModelError extends Error {
  override name = 'NoModelError';
  constructor() {
    super('no model is loaded: choose a model first');
  }
}

export interface ServiceEvents {
  deviceLost(message: string): void;
  /** A GPU error no run caught (WebGPU's uncapturederror): the UI says so. */
  gpuError(message: string): void;
}

export class InferenceService {
  readonly scheduler = new Scheduler();
  private gpu?: Promise<Gpu>;
  private loaded?: Loaded;
  /** The load in progress: requests wait for it rather than run on the model it replaces. */
  private loading?: Promise<unknown>;
  /** The model each task runs on: its tasks are replaced when it is. */
  private readonly bound = new WeakMap<Task, Loaded>();
  /** The backend whose last run kept attention on the GPU ('maps'), and the token naming that run. */
  private keptAttention?: { backend: InferenceBackend; token: number };
  private keptTokens = 0;

  constructor(private readonly events: ServiceEvents) {}

  /** Which device to ask for, read when the device is next requested (the client sets it before its first request). */
  deviceTier: DeviceTier = 'adapter';

  /** The device and its Runtime, requested once and kept until the device is lost. */
  device(): Promise<Gpu> {
    if (!navigator.gpu) return Promise.reject(new GpuError('this browser has no WebGPU: use a recent Chrome, Edge or Safari, or enable WebGPU'));
    this.gpu ??= requestEngineDevice(navigator.gpu, (message) => {
      // Everything on the lost device is gone: the next request starts again from a new device.
      this.gpu = undefined;
      this.loaded = undefined;
      this.keptAttention = undefined;
      this.scheduler.replaceAll(message);
      this.events.deviceLost(message);
    }, this.deviceTier).then((device) => {
      device.device.addEventListener('uncapturederror', (e) => this.events.gpuError(`GPU error: ${(e as GPUUncapturedErrorEvent).error.message}`));
      return { device, runtime: new Runtime(device) };
    });
    this.gpu.catch(() => (this.gpu = undefined));
    return this.gpu;
  }

  /** The device's one Runtime (preprocessing on the same device as the backends: a FrameStore of a live camera). */
  async runtime(): Promise<Runtime> {
    return (await this.device()).runtime;
  }

  /** Load a model and the backend `choice` says (model-loading.ts); the previous one is freed first, and its tasks are replaced. */
  load(ref: ModelRef, choice: BackendChoice, signal: AbortSignal | undefined, progress: ProgressFn): Promise<ModelInfo> {
    const slot = { swapOut: () => this.swapOut(), put: (loaded: Loaded) => void (this.loaded = loaded) };
    const loading = this.scheduler.submit({ purpose: 'load-model', priority: 'user', signal }, async (task) => loadModelInto(slot, task, await this.device(), ref, choice, progress));
    this.loading = loading.catch(() => {});
    return loading;
  }

  /** The loaded model's tasks replaced and its memory freed, before a new one arrives. */
  private async swapOut() {
    const old = this.loaded;
    this.scheduler.replaceAll('the model was replaced by a newly loaded one', (t) => old !== undefined && this.bound.get(t) === old);
    await this.unload();
  }

  /** The loaded model for `task` (after a load in progress); the task is replaced if the model is. */
  async use(task: Task): Promise<Loaded> {
    await this.loading;
    task.signal.throwIfAborted();
    const loaded = this.loaded;
    if (!loaded) throw new NoModelError();
    this.bound.set(task, loaded);
    return loaded;
  }

  /**
   * One model run in `task`'s GPU turn. A backend without GPU input gets the clip's pixels read back first
   * (and returns them as `pixel_values` when asked, as a GPU backend does).
   */
  async runClip(task: Task, backend: InferenceBackend, clip: ClipInput, shape: ClipShape, options: RunOptions): Promise<NamedTensors> {
    if (backend.capabilities.gpuInput || clip instanceof Float32Array) {
      const pixels = clip;
      const outputs = await task.gpu(() => {
        this.running(backend, options);
        return backend.run(pixels, shape, options);
      });
      if (options.returnInput && pixels instanceof Float32Array && !outputs.has('pixel_values')) outputs.set('pixel_values', { shape: [...shape], data: pixels });
      return outputs;
    }
    return this.runClip(task, backend, await this.clipPixels(task, clip, shape), shape, options);
  }

  /**
   * Several clips of one shape (CPU pixels) in `task`'s one GPU turn, as a batch: one submission and one read-back
   * for as many as fit (a backend with `runBatch`: our engine).
   */
  runClips(task: Task, backend: InferenceBackend, clips: Float32Array[], shape: ClipShape, options: RunOptions): Promise<NamedTensors[]> {
    const batch = backend.runBatch;
    if (!batch) return Promise.reject(new Error(`${backend.name} runs one clip at a time, not a batch`));
    return task.gpu(() => {
      this.running(backend, options);
      return batch.call(backend, clips, shape, options);
    });
  }

  /** A run of `backend` starts: it replaces what the backend kept on the GPU; only a 'maps' run keeps something new. */
  private running(backend: InferenceBackend, options: RunOptions) {
    if (options.attention === 'maps' && backend.readAttention) this.keptAttention = { backend, token: ++this.keptTokens };
    else if (this.keptAttention?.backend === backend) this.keptAttention = undefined;
  }

  /** A clip's exact pixels on the CPU: a clip made on the CPU (a CPU adapter's frame store) is read there, a GPU clip read back in `task`'s GPU turn. */
  async clipPixels(task: Task, clip: ClipInput, shape: ClipShape): Promise<Float32Array> {
    if (clip instanceof Float32Array) return clip;
    const made = (clip as PreprocessedClip).pixels?.();
    if (made) return made;
    const { runtime } = await this.device();
    return task.gpu(() => readClip(runtime, clip, shape));
  }

  /** The token of the attention `backend`'s last run kept on the GPU, if its last run was a 'maps' one. */
  keptAttentionToken(backend: InferenceBackend): number | undefined {
    return this.keptAttention?.backend === backend ? this.keptAttention.token : undefined;
  }

  /** Slices of the attention kept on the GPU by the run `token` names, read in a GPU turn of their own. */
  readAttention(token: number, slices: AttentionSlice[], scheduling: Scheduling & { signal?: AbortSignal }): Promise<Float32Array[]> {
    return this.scheduler.submit(scheduling, (task) =>
      task.gpu(async () => {
        const kept = this.keptAttention;
        if (kept?.token !== token) throw new Error("this clip's attention is no longer on the GPU: another clip ran since — run it again to explore it");
        return kept.backend.readAttention!(slices);
      }),
    );
  }

  /** A video's views classified (classify.ts). */
  classify(video: Blob, options: ClassifyOptions, scheduling: Scheduling & { signal?: AbortSignal }, progress: ProgressFn): Promise<ClassifyResult> {
    return this.scheduler.submit(scheduling, (task) => classifyVideo(this, task, video, options, progress));
  }

  /** Why the model names a class in a video's first view: relevance, saliency, deletion curves (explain.ts). */
  explain(video: Blob, options: ExplainOptions, scheduling: Scheduling & { signal?: AbortSignal }, progress: ProgressFn): Promise<ExplainResult> {
    return this.scheduler.submit(scheduling, (task) => explainVideo(this, task, video, options, progress));
  }

  /** Windows across the whole video, each classified as soon as it is decoded and preprocessed (timeline.ts). */
  timeline(video: Blob, maxSegments: number, scheduling: Scheduling & { signal?: AbortSignal }, progress: ProgressFn, onSegment: (s: TimelineSegment) => void): Promise<number> {
    return this.scheduler.submit(scheduling, (task) => timelineOf(this, task, video, maxSegments, progress, onSegment));
  }

  /** Our WGSL engine on the loaded model (for what the loaded backend cannot give: attention maps, explanations). */
  engineFor(loaded: Loaded): Promise<InferenceBackend> {
    if (isWgslBackend(loaded.backend)) return Promise.resolve(loaded.backend);
    const { weights } = loaded.model;
    // Only our engine loads from an engine-ready copy, and then it is the backend itself.
    if (!weights) return Promise.reject(new Error('the model was loaded without its weights'));
    loaded.engine ??= this.device().then((gpu) => {
      // Its explanations are held to the device's memory budget, as a load of our engine is (memory-plan.ts).
      const budget = memoryBudget(deviceMemory(gpu.device.device, gpu.device.gpuAdapter.info, (navigator as { deviceMemory?: number }).deviceMemory));
      return createBrowserBackend(OUR_ENGINE, { model: { ...loaded.model, weights }, gpu: gpu.runtime, engine: { memoryBudget: budget } });
    });
    loaded.engine.catch(() => (loaded.engine = undefined));
    return loaded.engine;
  }

  private async unload() {
    const old = this.loaded;
    this.loaded = undefined;
    this.keptAttention = undefined;
    if (!old) return;
    await old.backend.dispose();
    await (await old.engine?.catch(() => undefined))?.dispose();
  }
}

/** A GPU clip's pixels on the CPU, for backends that take CPU input. */
async function readClip(rt: Runtime, clip: GpuClip, shape: ClipShape): Promise<Float32Array> {
  const bytes = shape.reduce((a, b) => a * b) * 4;
  const target = rt.buffer('clip pixels', bytes);
  try {
    const encoder = rt.device.createCommandEncoder();
    clip.encode(encoder, target);
    rt.device.queue.submit([encoder.finish()]);
    return await rt.read(target, bytes);
  } finally {
    rt.release([target]);
  }
}
