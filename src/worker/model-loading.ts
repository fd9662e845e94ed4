// Loading a model in the worker: the checkpoint's files (downloaded, cached or picked) on the chosen backend, or
// our engine from its engine-ready copy (OPFS), with the autotuner's picks kept beside it; each load's stages
// timed for the model panel. The service (service.ts) owns what a load makes: it hands in its device and the
// slot the loaded model goes in.
import type { InferenceBackend } from '../backends/backend';
import { createBrowserBackend, wasmThreads } from '../backends/browser';
import { chooseBackend, type BackendChoice } from '../backends/choose';
import { exportTimesformerOnnx } from '../backends/onnx-export';
import { BACKEND_CATALOG, OUR_ENGINE, type BackendName } from '../backends/registry';
import { isWgslBackend, wgslBackend } from '../backends/wgsl';
import { loadModel, type LoadedModel } from '../checkpoint/load';
import { fileListSource, type ModelSource } from '../checkpoint/source';
import { expectedParameters } from '../checkpoint/weights';
import { exportPicks, rememberPicks, tuneShapes, type GpuTurn } from '../engine/autotune';
import { modelShapes } from '../model/kernel-shapes';
import type { EngineDevice } from '../engine/device';
import { copyTail, CopyError, declaredWeightDType, openCopy, packedBytes, weightDType, type ByteSource } from '../engine/engine-weights';
import type { Runtime } from '../engine/runtime';
import { fittedEngineOptions } from '../engine/memory-plan';
import { TimesformerEngine, type EngineOptions } from '../engine/timesformer';
import { cachedSource } from '../hub/cached-source';
import { engineReadyStore, type EngineReadyStore } from '../hub/engine-ready-store';
import type { BackendInfo, LoadReport, ModelInfo, ModelRef, Stage } from './protocol';
import type { Task } from './scheduler';

export type ProgressFn = (stage: Stage, done: number, total?: number, detail?: string) => void;

export interface Gpu {
  device: EngineDevice;
  runtime: Runtime;
}

/** What the service knows of a loaded model: the weights only when they were read from the checkpoint (not an engine-ready copy). */
export type ModelFacts = Omit<LoadedModel, 'weights'> & { weights?: LoadedModel['weights'] };

export interface Loaded {
  id: string;
  model: ModelFacts;
  backend: InferenceBackend;
  info: ModelInfo;
  /** Our engine on the same model, made on first use when another backend is loaded (attention maps). */
  engine?: Promise<InferenceBackend>;
}

/** Where the service keeps its model: a load empties it, then fills it, in the load's GPU turn. */
export interface ModelSlot {
  /** The loaded model's tasks replaced and its memory freed, before a new one arrives. */
  swapOut(): Promise<void>;
  put(loaded: Loaded): void;
}

type Chosen = { name: BackendName; reason: string };

/**
 * Load a model on the backend `choice` says, in `task`, into `slot`. Our engine on a model from a URL keeps an
 * engine-ready copy of its packed weights and the autotuner's picks (OPFS): the next load streams that copy to
 * the GPU and tunes nothing.
 */
export async function loadModelInto(slot: ModelSlot, task: Task, gpu: Gpu, ref: ModelRef, choice: BackendChoice, progress: ProgressFn): Promise<ModelInfo> {
  const clock = stageClock(progress);
  const adapter = { isFallback: gpu.device.adapter.isFallback, name: adapterName(gpu.device) };
  // Every model has an ONNX graph for onnxruntime: its own model.onnx, else the one we write from its weights.
  const chosen = chooseBackend(choice, { adapter, onnx: true, wasmThreads: wasmThreads() });
  const store = chosen.name === OUR_ENGINE && ref.kind === 'url' ? await engineReadyStore() : undefined;
  if (store) for (const picks of await store.readPicks().catch(() => [])) rememberPicks(gpu.runtime, picks);
  const fromCopy = store && ref.kind === 'url' ? await loadCopy(slot, task, ref, store, chosen, gpu, clock) : undefined;
  // After an unusable copy the checkpoint's load is timed on its own.
  const info = fromCopy ?? (await loadCheckpoint(slot, task, ref, store, chosen, gpu, store ? stageClock(progress) : clock));
  if (store) await store.writePicks(exportPicks(gpu.runtime)).catch(() => {});
  return info;
}

/** The engine from the model's engine-ready copy; undefined when there is none or it is unusable (then removed). */
async function loadCopy(slot: ModelSlot, task: Task, ref: ModelRef & { kind: 'url' }, store: EngineReadyStore, chosen: Chosen, gpu: Gpu, clock: StageClock): Promise<ModelInfo | undefined> {
  clock.enter('read', 0);
  const source = await store.open(ref.base).catch(() => undefined);
  if (!source) return undefined;
  let info: ModelInfo | undefined;
  try {
    info = await engineFromCopy(slot, task, ref.id, source, chosen, gpu, clock);
  } finally {
    source.close();
  }
  // Unusable (cut short, changed, another version, unreadable): dropped, and the checkpoint is read instead.
  // (A GPU failure is thrown above and keeps the copy.)
  if (!info) await store.remove(ref.base).catch(() => {});
  return info;
}

async function engineFromCopy(slot: ModelSlot, task: Task, id: string, source: ByteSource, chosen: Chosen, gpu: Gpu, clock: StageClock): Promise<ModelInfo | undefined> {
  const opened = await openCopy(source).catch(() => undefined);
  if (!opened) return undefined;
  task.signal.throwIfAborted();
  const p = opened.preprocessor, c = opened.config, dtype = opened.manifest.dtype;
  // Fitted to this device as the checkpoint's load is (a copy made on a larger device or tier may not fit):
  // a refusal is thrown before anything is allocated; a copy whose weight type does not fit is not used.
  const fitted = fittedEngineOptions(id, c, dtype, gpu.device, (navigator as { deviceMemory?: number }).deviceMemory);
  if (fitted.weights === 'f16' && dtype !== 'f16') return undefined;
  return task.gpu(async () => {
    await slot.swapOut();
    let engine: TimesformerEngine;
    try {
      engine = await TimesformerEngine.fromCopy(gpu.runtime, source, opened, { ...fitted, warm: [c.numFrames, p.cropHeight, p.cropWidth], onProgress: clock.enter, signal: task.signal });
    } catch (e) {
      if (task.signal.aborted || !(e instanceof CopyError || e instanceof DOMException)) throw e;
      return undefined;
    }
    const model: ModelFacts = { config: c, preprocessor: p, format: opened.manifest.checkpointFormat as LoadedModel['format'], source: opened.manifest.source, json: { config: opened.manifest.configJson, preprocessor: opened.manifest.preprocessorJson } };
    const backend = wgslBackend(engine);
    const info = describeModel(id, model, gpu, engine.gemmVariant, { name: backend.name, reason: chosen.reason, capabilities: backend.capabilities });
    info.load = { from: 'engine-ready copy', ms: clock.finish() };
    slot.put({ id, model, backend, info });
    return info;
  });
}

/** The checkpoint's files (downloaded, or from Cache Storage) on the chosen backend; our engine writes its engine-ready copy as it packs. */
async function loadCheckpoint(slot: ModelSlot, task: Task, ref: ModelRef, store: EngineReadyStore | undefined, chosen: Chosen, gpu: Gpu, clock: StageClock): Promise<ModelInfo> {
  const source: ModelSource & { cacheWarning?: string } = ref.kind === 'url' ? cachedSource(ref.base) : fileListSource(ref.files, 'the chosen folder');
  // Our engine's kernels need only the config: tuned while the weights are read, one shape class per GPU
  // turn (so that a task already running, a live session or a timeline, still gets the GPU), until the load ends.
  let tuning: Promise<{ start: number; end: number } | undefined> | undefined, readEnded = false;
  const turn: GpuTurn = (work) => (readEnded ? Promise.reject(new Error('the load ended')) : task.gpu(work));
  // Our engine's memory is fitted to the device from the config: a model that cannot fit is refused before its
  // weights are read or anything is allocated (the loaded model stays); one that fits gets the options that make it.
  const fitted: { engine?: EngineOptions } = {};
  const onConfig = chosen.name === OUR_ENGINE ? (config: LoadedModel['config'], json: string) => {
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
  const onnx = BACKEND_CATALOG[chosen.name].needs === 'onnx' ? await onnxGraph(source, model, task.signal) : undefined;
  task.signal.throwIfAborted();
  // The swap is a GPU turn of its own: the old model's runs end first, its memory goes before the new
  // model's arrives (two base models at once may not fit).
  return task.gpu(async () => {
    await slot.swapOut();
    const dtype = weightDType(model.weights, fitted.engine?.weights);
    const keep = store && ref.kind === 'url' ? await store.create(ref.base, packedBytes(model.config, dtype)) : undefined;
    const writer = typeof keep === 'object' ? keep : undefined;
    clock.enter('upload', 0);
    const p = model.preprocessor;
    let backend: InferenceBackend;
    try {
      // Our engine also records (and compiles) the plan of a plain clip: it is ready when this returns.
      backend = await createBrowserBackend(chosen.name, { model, onnx: onnx?.bytes, gpu: gpu.runtime, keep: writer, onProgress: clock.enter, signal: task.signal, warm: [model.config.numFrames, p.cropHeight, p.cropWidth], engine: fitted.engine });
    } catch (e) {
      await writer?.abort();
      throw e;
    }
    clock.enter('upload', 1, 1, 'engine-ready copy'); // its last bytes and the commit
    const notKept = writer ? await writer.finish(copyTail({ dtype, configJson: model.json.config, preprocessorJson: model.json.preprocessor, checkpointFormat: model.format, source: model.source }, model.config)) : keep;
    const gemmVariant = isWgslBackend(backend) ? backend.engine.gemmVariant : 'none (not our engine)';
    const info = describeModel(ref.id, model, gpu, gemmVariant, {
      name: backend.name,
      reason: onnx ? `${chosen.reason} (ONNX: ${onnx.from})` : chosen.reason,
      capabilities: backend.capabilities,
    });
    if (source.cacheWarning) info.cacheWarning = source.cacheWarning;
    info.load = { from: 'checkpoint', ms: clock.finish(), tunedWhileReadingMs, copy: store ? (notKept ? `not kept: ${notKept}` : 'kept for the next load') : undefined };
    slot.put({ id: ref.id, model, backend, info });
    return info;
  });
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
