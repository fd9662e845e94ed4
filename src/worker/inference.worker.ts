// The inference worker: model loading, video decoding, GPU preprocessing and the engine, off the UI
// thread. One request runs at a time per kind; each can be cancelled; every failure becomes an
// `error` event with a kind the UI can phrase advice for, and the worker stays usable.
/// <reference lib="webworker" />
import { CheckpointError } from '../checkpoint/errors';
import { loadModel, type LoadedModel } from '../checkpoint/load';
import { fileListSource, type ModelSource } from '../checkpoint/source';
import { GpuError, requestEngineDevice, type EngineDevice } from '../engine/device';
import { TimesformerEngine } from '../engine/timesformer';
import { expectedParameters } from '../checkpoint/weights';
import { cachedSource } from '../hub/cached-source';
import { attentionMaps } from '../predictions/attention-maps';
import { averageProbabilities, viewProbabilities } from '../predictions/scores';
import { prepareViews, windowClips } from '../video/clips';
import { VideoError } from '../video/errors';
import { openVideo } from '../video/open';
import { policyForModel, type SamplingPolicy } from '../video/sampling';
import type { ClassifyOptions, ClassifyResult, ErrorInfo, Event, ModelInfo, ModelRef, Request, Stage, TimelineSegment } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

interface Loaded {
  id: string;
  model: LoadedModel;
  engine: TimesformerEngine;
}

let gpu: Promise<EngineDevice> | undefined;
let loaded: Loaded | undefined;
const controllers = new Map<number, AbortController>();

const post = (event: Event, transfer: Transferable[] = []) => self.postMessage(event, transfer);

function device(): Promise<EngineDevice> {
  if (!navigator.gpu) throw new GpuError('this browser has no WebGPU: use a recent Chrome, Edge or Safari, or enable WebGPU');
  gpu ??= requestEngineDevice(navigator.gpu, (message) => {
    // Everything on the lost device is gone: the next request starts again from a new device.
    gpu = undefined;
    loaded = undefined;
    post({ type: 'device-lost', message });
  });
  gpu.catch(() => (gpu = undefined));
  return gpu;
}

self.onmessage = async (e: MessageEvent<Request>) => {
  const request = e.data;
  if (request.type === 'cancel') {
    controllers.get(request.requestId)?.abort();
    return;
  }
  const controller = new AbortController();
  controllers.set(request.requestId, controller);
  const progress = (stage: Stage, done: number, total?: number, detail?: string) => post({ type: 'progress', requestId: request.requestId, stage, done, total, detail });
  try {
    if (request.type === 'load-model') {
      const info = await load(request.model, controller.signal, progress);
      post({ type: 'model-loaded', requestId: request.requestId, info });
    } else if (request.type === 'classify') {
      const result = await classify(request.video, request.options, controller.signal, progress);
      post({ type: 'result', requestId: request.requestId, result }, [...result.frames, result.probs.buffer as ArrayBuffer]);
    } else {
      const segments = await timeline(request.video, request.maxSegments, controller.signal, progress, (segment) =>
        post({ type: 'segment', requestId: request.requestId, segment }, [segment.probs.buffer as ArrayBuffer]),
      );
      post({ type: 'timeline-done', requestId: request.requestId, segments });
    }
  } catch (error) {
    post({ type: 'error', requestId: request.requestId, error: describe(error, controller.signal) });
  } finally {
    controllers.delete(request.requestId);
  }
};

function describe(error: unknown, signal: AbortSignal): ErrorInfo {
  const message = error instanceof Error ? error.message : String(error);
  if (signal.aborted) return { kind: 'cancelled', message: 'cancelled' };
  if (error instanceof CheckpointError) return { kind: 'model', message };
  if (error instanceof VideoError) return { kind: 'video', message };
  if (error instanceof GpuError) return { kind: 'gpu', message };
  return { kind: 'internal', message };
}

async function load(ref: ModelRef, signal: AbortSignal, progress: (stage: Stage, done: number, total?: number, detail?: string) => void): Promise<ModelInfo> {
  const source: ModelSource & { cacheWarning?: string } = ref.kind === 'url' ? cachedSource(ref.base) : fileListSource(ref.files, 'the chosen folder');
  const model = await loadModel(source, { signal, onProgress: (p) => progress('download', p.loaded, p.total, p.cached ? `${p.file} (cached)` : p.file) });
  signal.throwIfAborted();
  progress('upload', 0);
  const gpuDevice = await device();
  // The old model's GPU memory goes first: two base models at once may not fit.
  loaded?.engine.destroy();
  loaded = undefined;
  const engine = await TimesformerEngine.create(gpuDevice, model);
  loaded = { id: ref.id, model, engine };
  progress('upload', 1, 1);
  const c = model.config;
  return {
    id: ref.id,
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
    gemmVariant: engine.gemmVariant,
    adapter: [gpuDevice.adapter.vendor, gpuDevice.adapter.architecture, gpuDevice.adapter.description].filter(Boolean).join(' ') + (gpuDevice.adapter.isFallback ? ' (software)' : ''),
    ...(source.cacheWarning && { cacheWarning: source.cacheWarning }),
  };
}

function samplingPolicy(id: string, model: LoadedModel, choice: ClassifyOptions['sampling']): SamplingPolicy {
  const auto = policyForModel(id, model.config);
  if (choice === 'auto' || choice === auto.kind) return auto;
  const frames = model.config.numFrames;
  return choice === 'segments' ? { kind: 'segments', frames } : policyForModel('', model.config);
}

async function classify(video: Blob, options: ClassifyOptions, signal: AbortSignal, progress: (stage: Stage, done: number, total?: number, detail?: string) => void): Promise<ClassifyResult> {
  if (!loaded) throw new GpuError('no model is loaded: choose a model first');
  const { id, model, engine } = loaded;
  const gpuDevice = await device();
  const t0 = performance.now();
  using file = await openVideo(video, { signal });
  const policy = samplingPolicy(id, model, options.sampling);
  // The paper's test protocol for TimeSformer: the middle clip × 3 spatial crops.
  const plan = options.views === 'multi' ? { temporalClips: 1, spatialCrops: 3 as const } : { temporalClips: 1, spatialCrops: 1 as const };
  const prepared = await prepareViews(file, gpuDevice, model.preprocessor, policy, plan, { signal, onProgress: (done, total) => progress('decode', done, total) });
  try {
    const decodeMs = performance.now() - t0;
    const t1 = performance.now();
    const c = model.config;
    const views: ClassifyResult['views'] = [];
    let first: Awaited<ReturnType<TimesformerEngine['run']>> | undefined;
    for (const [i, { view, clip }] of prepared.views.entries()) {
      signal.throwIfAborted();
      progress('inference', i, prepared.views.length, `view ${i + 1} of ${prepared.views.length}`);
      const outputs = await engine.run(clip, clip.shape, { attention: i === 0 && options.attention ? 'maps' : 'none', hiddenStates: false, returnInput: i === 0 });
      const logits = outputs.get('logits')!;
      views.push({ name: `clip ${view.temporalClip + 1}, ${view.crop} crop`, probs: viewProbabilities(logits.data, logits.shape[0]) });
      first ??= outputs;
    }
    progress('inference', prepared.views.length, prepared.views.length);
    const [T, , H, W] = prepared.views[0].clip.shape;
    const grid: [number, number] = [Math.floor(H / c.patchSize), Math.floor(W / c.patchSize)];
    return {
      probs: averageProbabilities(views.map((v) => v.probs)),
      views,
      frames: await framesAsSeen(first!.get('pixel_values')!.data, T, H, W, model.preprocessor),
      timestamps: prepared.views[0].view.timestamps,
      attention: options.attention ? attentionMaps(first!, c.numLayers, T, c.numHeads, grid) : undefined,
      notes: prepared.notes,
      timings: { decodeMs, inferenceMs: performance.now() - t1 },
    };
  } finally {
    prepared.release();
  }
}

/** Windows across the whole video, each classified as soon as it is decoded and preprocessed. */
async function timeline(video: Blob, maxSegments: number, signal: AbortSignal, progress: (stage: Stage, done: number, total?: number) => void, onSegment: (s: TimelineSegment) => void): Promise<number> {
  if (!loaded) throw new GpuError('no model is loaded: choose a model first');
  const { id, model, engine } = loaded;
  using file = await openVideo(video, { signal });
  let count = 0;
  const windows = windowClips(file, await device(), model.preprocessor, policyForModel(id, model.config), { signal, maxWindows: maxSegments, onProgress: (done, total) => progress('decode', done, total) });
  for await (const w of windows) {
    const logits = (await engine.run(w.clip, w.clip.shape, { attention: 'none', hiddenStates: false })).get('logits')!;
    onSegment({ index: w.index, count: w.count, start: w.start, end: w.end, probs: viewProbabilities(logits.data, logits.shape[0]) });
    progress('inference', ++count, w.count);
  }
  return count;
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
