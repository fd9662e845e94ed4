// Why the model names a class, in the worker: the video's first view decoded and preprocessed as classify.ts does,
// run on our engine (whatever backend is loaded: only ours has a backward pass) once for the rollout (from the
// forward) and the class's relevance and pixel gradient (from the backward after it), then the deletion curves —
// the class's probability as the patches are removed, most relevant first, by the relevance, by the rollout and at
// random — one batch of clips per step (every order's clip, one submission and one read-back), each batch in its own
// GPU turn, so that the task can be cancelled (or let a more urgent run go ahead) between two.
import { deletionCurves, frameImportance, inputTimesGradient, patchOrder, patchScores, randomOrder, type TokenGeometry } from '../attention/explanation';
import { patchGrid } from '../model/geometry';
import { viewProbabilities } from '../predictions/scores';
import { framesAsSeen } from '../preprocess/display';
import { prepareViews } from '../video/clips';
import { openVideo } from '../video/open';
import { samplingPolicy } from './classify';
import type { ProgressFn } from './model-loading';
import type { ExplainOptions, ExplainResult } from './protocol';
import type { Task } from './scheduler';
import type { InferenceService } from './service';

export type ExplainHost = Pick<InferenceService, 'use' | 'engineFor' | 'runtime' | 'runClip' | 'runClips' | 'clipPixels'>;

/** Points of each deletion curve after the whole clip: 10 % of the patches more removed at each. */
export const DELETION_STEPS = 10;
/** The random order's seed: the same clip gets the same random curve. */
const RANDOM_SEED = 1;

export async function explainVideo(service: ExplainHost, task: Task, video: Blob, options: ExplainOptions, progress: ProgressFn): Promise<ExplainResult> {
  const loaded = await service.use(task);
  const { id, model } = loaded;
  const c = options.classIndex, labels = model.config.labels.length;
  if (!Number.isInteger(c) || c < 0 || c >= labels) throw new RangeError(`explain: class ${c} is not one of the model's ${labels} classes`);
  const engine = await service.engineFor(loaded);
  if (!engine.capabilities.explain) throw new Error('this build of the WGSL engine has no backward pass: class explanations are not available');
  const runtime = await service.runtime();
  const t0 = performance.now();
  using file = await openVideo(video, { signal: task.signal });
  const plan = { temporalClips: 1, spatialCrops: 1 as const };
  const prepared = await prepareViews(file, runtime, model.preprocessor, samplingPolicy(id, model, options.sampling), plan, { signal: task.signal, onProgress: (done, total) => progress('decode', done, total) });
  try {
    const { view, clip } = prepared.views[0];
    const shape = clip.shape, [T, , H, W] = shape;
    const grid = patchGrid(model.config, H, W);
    const g: TokenGeometry = { frames: T, patches: grid[0] * grid[1], attentionType: model.config.attentionType };
    // Exact pixels: the masked clips are made from them (a run's `pixel_values` come back as f16, for display).
    const pixels = await service.clipPixels(task, clip, shape);
    const decodeMs = performance.now() - t0;
    const runs = 1 + 1 + 3 * DELETION_STEPS;
    const t1 = performance.now();
    progress('inference', 0, runs, 'backward, for the relevance and the rollout');
    const back = await service.runClip(task, engine, pixels, shape, { explain: [c], rollout: { discard: 0, fusions: ['mean'] } });
    const grad = back.get(`grad_pixels.class.${c}`), rel = back.get(`relevance.class.${c}`), rollout = back.get('rollout.mean');
    if (!grad || !rel || !rollout) throw new Error(`explain: the engine returned no ${!grad ? 'pixel gradient' : !rel ? 'relevance' : 'rollout'} for class ${c}`);
    const explainMs = performance.now() - t1;
    const relevance = patchScores(rel.data, g), rolloutPatches = patchScores(rollout.data, g);
    const t2 = performance.now();
    const curves = await deletionCurves(
      pixels,
      shape,
      grid,
      [
        { order: 'relevance', patches: patchOrder(relevance) },
        { order: 'rollout', patches: patchOrder(rolloutPatches) },
        { order: 'random', patches: randomOrder(relevance.length, RANDOM_SEED) },
      ],
      DELETION_STEPS,
      async (clips) =>
        (await service.runClips(task, engine, clips, shape, {})).map((outputs) => {
          const logits = outputs.get('logits')!;
          return viewProbabilities(logits.data, logits.shape[0])[c];
        }),
      (done) => progress('inference', 1 + done, runs, 'for the deletion curves'),
    );
    return {
      classIndex: c,
      probability: curves[0].probs[0],
      frames: await framesAsSeen(pixels, T, H, W, model.preprocessor),
      timestamps: view.timestamps.map((t) => t - file.info.origin),
      grid,
      relevance,
      relevanceCls: g.attentionType === 'space_only' ? meanOfFrameCls(rel.data, g) : rel.data[0],
      rollout: rolloutPatches,
      saliency: inputTimesGradient({ shape: [...shape], data: pixels }, grad).data,
      size: [H, W],
      frameImportance: frameImportance(rel, g),
      curves,
      timings: { decodeMs, explainMs, deletionMs: performance.now() - t2 },
    };
  } finally {
    prepared.release();
  }
}

/** Space-only: each frame's relevance row starts with its own CLS; their mean, as the prediction averages the frames. */
function meanOfFrameCls(row: Float32Array, g: TokenGeometry): number {
  let sum = 0;
  for (let t = 0; t < g.frames; t++) sum += row[t * (1 + g.patches)];
  return sum / g.frames;
}
