// The inference slice: classifying the chosen video with the loaded model — progress, cancel, the
// result's summary (its arrays and bitmaps live in the registry under resultId) and errors.
import type { ClassifyOptions, ClassifyResult } from '../worker/protocol';
import { classifyError, isCancel, type AppError } from './errors';
import { progressed, type Progress, type ProgressEvent } from './progress';
import { summarize, type ResultSummary } from './summary';
import { patch, type SliceContext } from './types';

/** waiting: a video is here but the model is not ready yet. */
export type InferenceStatus = 'idle' | 'waiting' | 'running' | 'done' | 'failed';

/** What a result was computed from. */
export interface RunKey {
  modelId: string;
  videoId: number;
  options: ClassifyOptions;
}

export interface InferenceState {
  status: InferenceStatus;
  progress: Progress | null;
  options: ClassifyOptions;
  resultId: number | null;
  summary: ResultSummary | null;
  ranWith: RunKey | null;
  error: AppError | null;
}

/** A result set aside while another video is tried (its arrays stay in the registry). */
export type KeptResult = Pick<InferenceState, 'resultId' | 'summary' | 'ranWith'>;

export interface InferenceActions {
  /** Classify the current video with the current model (now, or as soon as the model is ready). */
  classificationRequested(): Promise<void>;
  classificationProgressed(event: ProgressEvent): void;
  classificationFinished(result: ClassifyResult, ranWith: RunKey): void;
  classificationFailed(error: AppError): void;
  classificationCancelled(): void;
  classifyOptionsChanged(options: Partial<ClassifyOptions>): void;
  /** The shown result no longer applies (a new video): free its frames and arrays. */
  resultDiscarded(): void;
  /** A new video is tried: stop showing the result, but keep its frames and arrays (the video slice holds its id). */
  resultSetAside(): void;
  /** The new video could not be used: show the set-aside result again (the error stays, naming the new file). */
  resultRestored(kept: KeptResult): void;
  inferenceErrorDismissed(): void;
  /** A model started loading: a chosen video waits for it. */
  modelLoadStarted(): void;
  /** The model load failed or was cancelled: nothing waits for it any more. */
  modelLoadAbandoned(): void;
  /** The GPU was lost: a run in progress stops, a waiting one is dropped (a shown result stays). */
  classificationInterrupted(): void;
}

export const initialInferenceState: InferenceState = {
  status: 'idle',
  progress: null,
  options: { views: 'single', attention: true, sampling: 'auto' },
  resultId: null,
  summary: null,
  ranWith: null,
  error: null,
};

export function inferenceActions(ctx: SliceContext): InferenceActions {
  const { get, deps } = ctx;
  const inference = (fields: Partial<InferenceState>) => patch(ctx, 'inference', fields);
  const actions = () => get().actions;

  return {
    async classificationRequested() {
      const { video, model } = get();
      const blob = ctx.videos.get(video.current?.id);
      if (!video.current || !blob) return;
      if (model.status !== 'ready' || !model.currentId) {
        inference({ status: 'waiting', error: null, progress: null });
        return;
      }
      ctx.running.classify?.abort();
      const abort = (ctx.running.classify = new AbortController());
      const current = () => ctx.running.classify === abort;
      const ranWith: RunKey = { modelId: model.currentId, videoId: video.current.id, options: get().inference.options };
      const name = video.current.name;
      inference({ status: 'running', progress: null, error: null });
      try {
        const result = await ctx.client().classify(blob, ranWith.options, (p) => current() && actions().classificationProgressed(p), abort.signal);
        if (current()) actions().classificationFinished(result, ranWith);
        else result.frames.forEach((f) => f.close());
      } catch (e) {
        if (current() && !isCancel(e)) actions().classificationFailed(classifyError(e, name));
      } finally {
        if (current()) ctx.running.classify = undefined;
      }
    },

    classificationProgressed(event) {
      const next = progressed(get().inference.progress, event, deps.now());
      if (next) inference({ progress: next });
    },

    classificationFinished(result, ranWith) {
      const previous = get().inference.resultId;
      const resultId = ctx.results.put(result);
      const summary = summarize(result, get().model.info?.labels ?? []);
      inference({ status: 'done', progress: null, resultId, summary, ranWith, error: null });
      ctx.results.release(previous);
      actions().resultReplaced();
      if (ranWith.videoId === get().video.current?.id) actions().videoClassified();
    },

    classificationFailed(error) {
      inference({ status: 'failed', progress: null, error });
      if (error.kind === 'video') actions().videoRejected();
    },

    classificationCancelled() {
      ctx.running.classify?.abort();
      ctx.running.classify = undefined;
      inference({ status: 'idle', progress: null });
    },

    classifyOptionsChanged(options) {
      inference({ options: { ...get().inference.options, ...options } });
    },

    resultDiscarded() {
      const previous = get().inference.resultId;
      actions().resultSetAside();
      ctx.results.release(previous);
    },

    resultSetAside() {
      inference({ resultId: null, summary: null, ranWith: null, status: 'idle', error: null });
    },

    resultRestored(kept) {
      inference({ ...kept, status: 'done' });
    },

    inferenceErrorDismissed() {
      inference({ error: null });
    },

    modelLoadStarted() {
      if (get().video.current) inference({ status: 'waiting', progress: null });
    },

    modelLoadAbandoned() {
      if (get().inference.status === 'waiting') inference({ status: 'idle' });
    },

    classificationInterrupted() {
      ctx.running.classify?.abort();
      ctx.running.classify = undefined;
      const { status } = get().inference;
      if (status === 'running' || status === 'waiting') inference({ status: 'idle', progress: null });
    },
  };
}
