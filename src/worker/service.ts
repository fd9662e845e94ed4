// The inference service: the one long-lived owner, inside the worker, of the GPU device (and its one Runtime,
// shared by preprocessing and every backend), the loaded model and the backend that runs it, and the scheduler
// through which every request uses them. inference.worker.ts only turns messages into calls here.
import type { ClipInput, ClipShape, InferenceBackend, RunOptions } from '../backends/backend';
import type { AttentionSlice } from '../engine/timesformer';
import { createBrowserBackend, wasmThreads } from '../backends/browser';
import { wgslBackend, type WgslBackend } from '../backends/wgsl';
import type { BackendName } from '../backends/backend';
import { exportPicks, modelShapes, rememberPicks, tuneShapes, type GpuTurn } from '../engine/autotune';
import { copyTail, CopyError, declaredWeightDType, openCopy, packedBytes, weightDType, type ByteSource } from '../engine/engine-weights';
import { engineReadyStore, type EngineReadyStore } from '../hub/engine-ready-store';
import { chooseBackend, type BackendChoice } from '../backends/choose';
import { exportTimesformerOnnx } from '../backends/onnx-export';
import { loadModel, type LoadedModel } from '../checkpoint/load';
import { fileListSource, type ModelSource } from '../checkpoint/source';
import { expectedParameters } from '../checkpoint/weights';
import { GpuError, requestEngineDevice, type DeviceTier, type EngineDevice } from '../engine/device';
import { Runtime } from '../engine/runtime';
import { fittedEngineOptions } from '../engine/memory-plan';
import { TimesformerEngine, type EngineOptions, type GpuClip } from '../engine/timesformer';
import { cachedSource } from '../hub/cached-source';
import { attentionMaps } from '../predictions/attention-maps';
import { averageProbabilities, viewProbabilities } from '../predictions/scores';
import type { NamedTensors } from '../tensor';
import type { PreprocessedClip } from '../preprocess/frame-store';
import { prepareViews, windowClips } from '../video/clips';
import { openVideo } from '../video/open';
import { policyForModel, type SamplingPolicy } from '../video/sampling';
import type { BackendInfo, ClassifyOptions, ClassifyResult, LoadReport, ModelInfo, ModelRef, Scheduling, Stage, TimelineSegment } from './protocol';
import { Scheduler, type Task } from './scheduler';

export type ProgressFn = (stage: Stage, done: number, total?: number, detail?: string) => void;

/** Asked for a model run before any model was loaded: the user's next step, not a GPU failure. */
export class NoModelError extends Error {
  override name = 'NoModelError';
  constructor() {
    super('no model is loaded: choose a model first');
  }
}

interface Gpu {
  device: EngineDevice;
  runtime: Runtime;
}

/** What the service knows of a loaded model: the weights only when they were read from the checkpoint (not an engine-ready copy). */
type ModelFacts = Omit<LoadedModel, 'weights'> & { weights?: LoadedModel['weights'] };

interface Loaded {
  id: string;
  model: ModelFacts;
  backend: InferenceBackend;
  info: ModelInfo;
  /** Our engine on the same model, made on first use when another backend is loaded (attention maps). */
  engine?: Promise<InferenceBackend>;
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
  /** Which device to ask for, read when the device is next requested (the client sets it before its first request). */
  deviceTier: DeviceTier = 'adapter';

  constructor(private readonly events: ServiceEvents) {}

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

  /**
   * Load a model and the backend `choice` says; the previous one is freed first, and its tasks are replaced.
   * Our engine on a model from a URL keeps an engine-ready copy of its packed weights and the autotuner's picks
   * (OPFS): the next load streams that copy to the GPU and tunes nothing.
   */
  load(ref: ModelRef, choice: BackendChoice, signal: AbortSignal | undefined, progress: ProgressFn): Promise<ModelInfo> {
    const loading = this.scheduler.submit({ purpose: 'load-model', priority: 'user', signal }, async (task) => {
      const clock = stageClock(progress);
      const gpu = await this.device();
      const adapter = { isFallback: gpu.device.adapter.isFallback, name: adapterName(gpu.device) };
      // Every model has an ONNX graph for onnxruntime: its own model.onnx, else the one we write from its weights.
      const chosen = chooseBackend(choice, { adapter, onnx: true, wasmThreads: wasmThreads() });
      const store = chosen.name === 'wgsl' && ref.kind === 'url' ? await engineReadyStore() : undefined;
      if (store) for (const picks of await store.readPicks().catch(() => [])) rememberPicks(gpu.runtime, picks);
      const fromCopy = store && ref.kind === 'url' ? await this.loadCopy(task, ref, store, chosen, gpu, clock) : undefined;
      // After an unusable copy the checkpoint's load is timed on its own.
      const info = fromCopy ?? (await this.loadCheckpoint(task, ref, store, chosen, gpu, store ? stageClock(progress) : clock));
      if (store) await store.writePicks(exportPicks(gpu.runtime)).catch(() => {});
      return info;
    });
    this.loading = loading.catch(() => {});
    return loading;
  }

  /** The engine from the model's engine-ready copy; undefined when there is none or it is unusable (then removed). */
  private async loadCopy(task: Task, ref: ModelRef & { kind: 'url' }, store: EngineReadyStore, chosen: { name: BackendName; reason: string }, gpu: Gpu, clock: StageClock): Promise<ModelInfo | undefined> {
    clock.enter('read', 0);
    const source = await store.open(ref.base).catch(() => undefined);
    if (!source) return undefined;
    let info: ModelInfo | undefined;
    try {
      info = await this.engineFromCopy(task, ref.id, source, chosen, gpu, clock);
    } finally {
      source.close();
    }
    // Unusable (cut short, changed, another version, unreadable): dropped, and the checkpoint is read instead.
    // (A GPU failure is thrown above and keeps the copy.)
    if (!info) await store.remove(ref.base).catch(() => {});
    return info;
  }

  private async engineFromCopy(task: Task, id: string, source: ByteSource, chosen: { name: BackendName; reason: string }, gpu: Gpu, clock: StageClock): Promise<ModelInfo | undefined> {
    const opened = await openCopy(source).catch(() => undefined);
    if (!opened) return undefined;
    task.signal.throwIfAborted();
    return task.gpu(async () => {
      await this.swapOut();
      const p = opened.preprocessor, c = opened.config;
      let engine: TimesformerEngine;
      try {
        engine = await TimesformerEngine.fromCopy(gpu.runtime, source, opened, { warm: [c.numFrames, p.cropHeight, p.cropWidth], onProgress: clock.enter, signal: task.signal });
      } catch (e) {
        if (task.signal.aborted || !(e instanceof CopyError || e instanceof DOMException)) throw e;
        return undefined;
      }
      const model: ModelFacts = { config: c, preprocessor: p, format: opened.manifest.checkpointFormat as LoadedModel['format'], source: opened.manifest.source, json: { config: opened.manifest.configJson, preprocessor: opened.manifest.preprocessorJson } };
      const backend = wgslBackend(engine);
      const info = describeModel(id, model, gpu, engine.gemmVariant, { name: backend.name, reason: chosen.reason, capabilities: backend.capabilities });
      info.load = { from: 'engine-ready copy', ms: clock.finish() };
      this.loaded = { id, model, backend, info };
      return info;
    });
  }

  /** The checkpoint's files (downloaded, or from Cache Storage) on the chosen backend; our engine writes its engine-ready copy as it packs. */
  private async loadCheckpoint(task: Task, ref: ModelRef, store: EngineReadyStore | undefined, chosen: { name: BackendName; reason: string }, gpu: Gpu, clock: StageClock): Promise<ModelInfo> {
    const source: ModelSource & { cacheWarning?: string } = ref.kind === 'url' ? cachedSource(ref.base) : fileListSource(ref.files, 'the chosen folder');
    // Our engine's kernels need only the config: tuned while the weights are read, one shape class per GPU
    // turn (so that a task already running, a live session or a timeline, still gets the GPU), until the load ends.
    let tuning: Promise<{ start: number; end: number } | undefined> | undefined, readEnded = false;
    const turn: GpuTurn = (work) => (readEnded ? Promise.reject(new Error('the load ended')) : task.gpu(work));
    // Our engine's memory is fitted to the device from the config: a model that cannot fit is refused before its
    // weights are read or anything is allocated (the loaded model stays); one that fits gets the options that make it.
    const fitted: { engine?: EngineOptions } = {};
    const onConfig = chosen.name === 'wgsl' ? (config: LoadedModel['config'], json: string) => {
      fitted.engine = fittedEngineOptions(ref.id, config, declaredWeightDType(json), gpu.device, (navigator as { deviceMemory?: number }).deviceMemory);
      tuning = tuneAhead(gpu.runtime, config, json, turn);
    } : undefined;
    const model = await loadModel(source, { signal: task.signal, onProgress: (p) => clock.enter(p.cached ? 'read' : 'download', p.loaded, p.total, p.file), onConfig }).catch((e) => {
      readEnded = true;
      throw e;
    });
    const read = performance.now();
    task.signal.throwIfAborted();
    // The rest of the tuning is the compile stage's; waited for here so that the engine finds every class picked
    // and tunes nothing inside the swap's GPU turn below.
    if (tuning) clock.enter('compile', 0);
    const tuned = await tuning;
    const tunedWhileReadingMs = tuned && Math.max(0, Math.min(tuned.end, read) - tuned.start);
    const onnx = chosen.name.startsWith('onnx') ? await onnxGraph(source, model, task.signal) : undefined;
    task.signal.throwIfAborted();
    // The swap is a GPU turn of its own: the old model's runs end first, its memory goes before the new
    // model's arrives (two base models at once may not fit).
    return task.gpu(async () => {
      await this.swapOut();
      const dtype = weightDType(model.weights, fitted.engine?.weights);
      const keep = store && ref.kind === 'url' ? await store.create(ref.base, packedBytes(model.config, dtype)) : undefined;
      const writer = typeof keep === 'object' ? keep : undefined;
      clock.enter('upload', 0);
      const p = model.preprocessor;
      let backend: InferenceBackend;
      try {
        // Our engine also records (and compiles) the plan of a plain clip: it is ready when this returns.
        backend = await createBrowserBackend(chosen.name, { model, onnx: onnx?.bytes, runtime: gpu.runtime, keep: writer, onProgress: clock.enter, signal: task.signal, warm: [model.config.numFrames, p.cropHeight, p.cropWidth], engine: fitted.engine });
      } catch (e) {
        await writer?.abort();
        throw e;
      }
      clock.enter('upload', 1, 1, 'engine-ready copy'); // its last bytes and the commit
      const notKept = writer ? await writer.finish(copyTail({ dtype, configJson: model.json.config, preprocessorJson: model.json.preprocessor, checkpointFormat: model.format, source: model.source }, model.config)) : keep;
      const gemmVariant = backend.name === 'wgsl' ? (backend as WgslBackend).engine.gemmVariant : 'none (not our engine)';
      const info = describeModel(ref.id, model, gpu, gemmVariant, {
        name: backend.name,
        reason: onnx ? `${chosen.reason} (ONNX: ${onnx.from})` : chosen.reason,
        capabilities: backend.capabilities,
      });
      if (source.cacheWarning) info.cacheWarning = source.cacheWarning;
      info.load = { from: 'checkpoint', ms: clock.finish(), tunedWhileReadingMs, copy: store ? (notKept ? `not kept: ${notKept}` : 'kept for the next load') : undefined };
      this.loaded = { id: ref.id, model, backend, info };
      return info;
    });
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
        // Any run replaces what the backend kept: only a 'maps' run keeps something new.
        if (options.attention === 'maps' && backend.readAttention) this.keptAttention = { backend, token: ++this.keptTokens };
        else if (this.keptAttention?.backend === backend) this.keptAttention = undefined;
        return backend.run(pixels, shape, options);
      });
      if (options.returnInput && pixels instanceof Float32Array && !outputs.has('pixel_values')) outputs.set('pixel_values', { shape: [...shape], data: pixels });
      return outputs;
    }
    // A clip made on the CPU (a CPU adapter's frame store) is read there: no round trip through the GPU.
    const made = (clip as PreprocessedClip).pixels?.();
    if (made) return this.runClip(task, backend, made, shape, options);
    const { runtime } = await this.device();
    const pixels = await task.gpu(() => readClip(runtime, clip, shape));
    return this.runClip(task, backend, pixels, shape, options);
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

  classify(video: Blob, options: ClassifyOptions, scheduling: Scheduling & { signal?: AbortSignal }, progress: ProgressFn): Promise<ClassifyResult> {
    return this.scheduler.submit(scheduling, async (task) => {
      const loaded = await this.use(task);
      const { id, model } = loaded;
      const backend = options.backend === 'wgsl' ? await this.engineFor(loaded) : loaded.backend;
      const { runtime } = await this.device();
      const t0 = performance.now();
      using file = await openVideo(video, { signal: task.signal });
      const policy = samplingPolicy(id, model, options.sampling);
      // The paper's test protocol for TimeSformer: the middle clip × 3 spatial crops.
      const plan = options.views === 'multi' ? { temporalClips: 1, spatialCrops: 3 as const } : { temporalClips: 1, spatialCrops: 1 as const };
      const prepared = await prepareViews(file, runtime, model.preprocessor, policy, plan, { signal: task.signal, onProgress: (done, total) => progress('decode', done, total) });
      try {
        const decodeMs = performance.now() - t0;
        const t1 = performance.now();
        const c = model.config;
        const attention = options.attention && backend.capabilities.attention;
        const views: ClassifyResult['views'] = [];
        let first: NamedTensors | undefined;
        // The first view (the one with attention) runs last, so that what it keeps on the GPU is still there after.
        const order = [...prepared.views.keys()].slice(1).concat(0);
        for (const [k, i] of order.entries()) {
          const { view, clip } = prepared.views[i];
          task.signal.throwIfAborted();
          progress('inference', k, prepared.views.length, `view ${k + 1} of ${prepared.views.length}`);
          const outputs = await this.runClip(task, backend, clip, clip.shape, { attention: i === 0 && attention ? 'maps' : false, returnInput: i === 0 });
          const logits = outputs.get('logits')!;
          views[i] = { name: `clip ${view.temporalClip + 1}, ${view.crop} crop`, probs: viewProbabilities(logits.data, logits.shape[0]) };
          if (i === 0) first = outputs;
        }
        progress('inference', prepared.views.length, prepared.views.length);
        const [T, , H, W] = prepared.views[0].clip.shape;
        const grid: [number, number] = [Math.floor(H / c.patchSize), Math.floor(W / c.patchSize)];
        const maps = attention ? attentionMaps(first!, c.numLayers, T, c.numHeads, grid) : undefined;
        const token = this.keptAttentionToken(backend);
        // Something stayed on the GPU when a head's temporal maps (divided) or full spatial rows were not read back.
        if (maps && token !== undefined && ((c.attentionType === 'divided_space_time' && maps.temporal.length === 0) || !maps.spatialHeads)) maps.kept = { token, attentionType: c.attentionType };
        return {
          probs: averageProbabilities(views.map((v) => v.probs)),
          views,
          frames: await framesAsSeen(first!.get('pixel_values')!.data, T, H, W, model.preprocessor),
          // Shown as times from the video's start, as every message counts them (a broadcast cut may start at 114 s).
          timestamps: prepared.views[0].view.timestamps.map((t) => t - file.info.origin),
          attention: maps,
          notes: prepared.notes,
          timings: { decodeMs, inferenceMs: performance.now() - t1 },
          backend: backend.name,
        };
      } finally {
        prepared.release();
      }
    });
  }

  /** Windows across the whole video, each classified as soon as it is decoded and preprocessed. */
  timeline(video: Blob, maxSegments: number, scheduling: Scheduling & { signal?: AbortSignal }, progress: ProgressFn, onSegment: (s: TimelineSegment) => void): Promise<number> {
    return this.scheduler.submit(scheduling, async (task) => {
      const { id, model, backend } = await this.use(task);
      const { runtime } = await this.device();
      using file = await openVideo(video, { signal: task.signal });
      let count = 0;
      const windows = windowClips(file, runtime, model.preprocessor, policyForModel(id, model.config), { signal: task.signal, maxWindows: maxSegments, onProgress: (done, total) => progress('decode', done, total) });
      for await (const w of windows) {
        const logits = (await this.runClip(task, backend, w.clip, w.clip.shape, {})).get('logits')!;
        task.signal.throwIfAborted();
        onSegment({ index: w.index, count: w.count, start: w.start - file.info.origin, end: w.end - file.info.origin, probs: viewProbabilities(logits.data, logits.shape[0]) });
        progress('inference', ++count, w.count);
      }
      return count;
    });
  }

  /** Our WGSL engine on the loaded model (for attention maps the loaded backend cannot give: classify, live). */
  engineFor(loaded: Loaded): Promise<InferenceBackend> {
    if (loaded.backend.name === 'wgsl') return Promise.resolve(loaded.backend);
    const { weights } = loaded.model;
    // Only our engine loads from an engine-ready copy, and then it is the backend itself.
    if (!weights) return Promise.reject(new Error('the model was loaded without its weights'));
    loaded.engine ??= this.device().then((gpu) => createBrowserBackend('wgsl', { model: { ...loaded.model, weights }, runtime: gpu.runtime }));
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

/** A load's stages as progress events, and the wall time spent in each (files: download or cache; upload; compile). */
interface StageClock {
  enter(stage: Stage, done: number, total?: number, detail?: string): void;
  finish(): LoadReport['ms'];
}

function stageClock(progress: ProgressFn): StageClock {
  const started = performance.now();
  const ms = { files: 0, upload: 0, compile: 0 };
  let current: keyof typeof ms | undefined, since = started;
  const bucket = (stage: Stage): keyof typeof ms => (stage === 'upload' ? 'upload' : stage === 'compile' ? 'compile' : 'files');
  const lap = (now: number) => {
    if (current) ms[current] += now - since;
    since = now;
  };
  return {
    enter(stage, done, total, detail) {
      lap(performance.now());
      current = bucket(stage);
      progress(stage, done, total, detail);
    },
    finish() {
      const now = performance.now();
      lap(now);
      return { ...ms, total: now - started };
    },
  };
}

const adapterName = (gpu: EngineDevice) => [gpu.adapter.vendor, gpu.adapter.architecture, gpu.adapter.description].filter(Boolean).join(' ') || 'unnamed adapter';

/**
 * The model's ONNX graph: the `model.onnx` beside its config (torch.onnx's, as models/ ships them), else the one
 * onnx-export.ts writes from the loaded weights for the app's clip shape (any checkpoint, hub ones included,
 * with no second download).
 */
async function onnxGraph(source: ModelSource, model: LoadedModel, signal: AbortSignal): Promise<{ bytes: Uint8Array; from: string }> {
  const shipped = await source.read('model.onnx', { signal });
  if (shipped) return { bytes: shipped, from: 'model.onnx' };
  const p = model.preprocessor, c = model.config;
  return { bytes: exportTimesformerOnnx(c, model.weights, { clip: [c.numFrames, 3, p.cropHeight, p.cropWidth] }), from: 'written from the checkpoint' };
}

/**
 * Tune our engine's kernels for a model from its config alone (the weight type as config.json declares it):
 * when that started and ended, or undefined where it stopped (the engine then tunes what is left itself).
 */
async function tuneAhead(rt: Runtime, config: LoadedModel['config'], json: string, turn: GpuTurn): Promise<{ start: number; end: number } | undefined> {
  const start = performance.now();
  try {
    await tuneShapes(rt, modelShapes(config, declaredWeightDType(json)), {}, turn);
    return { start, end: performance.now() };
  } catch {
    return undefined;
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

function describeModel(id: string, model: ModelFacts, gpu: Gpu, gemmVariant: string, backend: BackendInfo): ModelInfo {
  const c = model.config;
  return {
    id,
    source: model.source,
    format: model.format,
    attentionType: c.attentionType,
    frames: c.numFrames,
    imageSize: c.imageSize,
    patchSize: c.patchSize,
    hiddenSize: c.hiddenSize,
    layers: c.numLayers,
    heads: c.numHeads,
    labels: c.labels,
    parameters: [...expectedParameters(c).values()].reduce((n, shape) => n + shape.reduce((a, b) => a * b, 1), 0),
    gemmVariant,
    adapter: adapterName(gpu.device) + (gpu.device.adapter.isFallback ? ' (software)' : ''),
    backend,
  };
}

function samplingPolicy(id: string, model: ModelFacts, choice: ClassifyOptions['sampling']): SamplingPolicy {
  const auto = policyForModel(id, model.config);
  if (choice === 'auto' || choice === auto.kind) return auto;
  const frames = model.config.numFrames;
  return choice === 'segments' ? { kind: 'segments', frames } : policyForModel('', model.config);
}

/** The model's input [T, 3, H, W] turned back into pictures (undoing normalization) for display. */
async function framesAsSeen(pixels: Float32Array, T: number, H: number, W: number, pre: LoadedModel['preprocessor']): Promise<ImageBitmap[]> {
  const frames: ImageBitmap[] = [];
  for (let t = 0; t < T; t++) {
    const rgba = new Uint8ClampedArray(H * W * 4);
    for (let ch = 0; ch < 3; ch++) {
      const plane = pixels.subarray((t * 3 + ch) * H * W, (t * 3 + ch + 1) * H * W);
      const scale = pre.imageStd[ch] / pre.rescaleFactor, offset = pre.imageMean[ch] / pre.rescaleFactor;
      for (let i = 0; i < H * W; i++) rgba[i * 4 + ch] = plane[i] * scale + offset;
    }
    for (let i = 0; i < H * W; i++) rgba[i * 4 + 3] = 255;
    frames.push(await createImageBitmap(new ImageData(rgba, W, H)));
  }
  return frames;
}
