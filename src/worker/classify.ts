// Classifying a video in the worker: its views (the middle clip, or the paper's 3 crops) decoded and preprocessed,
// each run on the loaded backend (our engine when the request asks for its attention maps), probabilities
// averaged, and the first view's attention and frames as the model saw them, for the explorer.
import { OUR_ENGINE } from '../backends/registry';
import { patchGrid } from '../model/geometry';
import { attentionMaps } from '../predictions/attention-maps';
import { averageProbabilities, viewProbabilities } from '../predictions/scores';
import { framesAsSeen } from '../preprocess/display';
import type { NamedTensors } from '../tensor';
import { prepareViews } from '../video/clips';
import { openVideo } from '../video/open';
import { policyForModel, type SamplingPolicy } from '../video/sampling';
import type { ModelFacts, ProgressFn } from './model-loading';
import type { ClassifyOptions, ClassifyResult } from './protocol';
import type { Task } from './scheduler';
import type { InferenceService } from './service';

/** What classifying takes from the service: the model, a way to run a clip, and what a run kept on the GPU. */
export type ClassifyHost = Pick<InferenceService, 'use' | 'engineFor' | 'runtime' | 'runClip' | 'keptAttentionToken'>;

export async function classifyVideo(service: ClassifyHost, task: Task, video: Blob, options: ClassifyOptions, progress: ProgressFn): Promise<ClassifyResult> {
  const loaded = await service.use(task);
  const { id, model } = loaded;
  const backend = options.backend === OUR_ENGINE ? await service.engineFor(loaded) : loaded.backend;
  const runtime = await service.runtime();
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
      const outputs = await service.runClip(task, backend, clip, clip.shape, { attention: i === 0 && attention ? 'maps' : false, returnInput: i === 0 });
      const logits = outputs.get('logits')!;
      views[i] = { name: `clip ${view.temporalClip + 1}, ${view.crop} crop`, probs: viewProbabilities(logits.data, logits.shape[0]) };
      if (i === 0) first = outputs;
    }
    progress('inference', prepared.views.length, prepared.views.length);
    const [T, , H, W] = prepared.views[0].clip.shape;
    const grid = patchGrid(c, H, W);
    const maps = attention ? attentionMaps(first!, c.numLayers, T, c.numHeads, grid) : undefined;
    const token = service.keptAttentionToken(backend);
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
}

/** The sampling the user chose, or the checkpoint's own for 'auto'. */
export function samplingPolicy(id: string, model: ModelFacts, choice: ClassifyOptions['sampling']): SamplingPolicy {
  const auto = policyForModel(id, model.config);
  if (choice === 'auto' || choice === auto.kind) return auto;
  const frames = model.config.numFrames;
  return choice === 'segments' ? { kind: 'segments', frames } : policyForModel('', model.config);
}
