// The "Why <class>" slice: which class of the shown result is explained, the explanation's progress, and the
// explanation itself by id (its frames and arrays live in the `explanations` registry, freed when replaced).
// Explanations run on our engine, whatever backend is loaded (src/worker/explain.ts).
import type { ExplainResult } from '../worker/protocol';
import { explainError, isCancel, type AppError } from './errors';
import { progressed, type Progress, type ProgressEvent } from './progress';
import { patch, type SliceContext } from './types';

export type WhyStatus = 'idle' | 'running' | 'done' | 'failed';

/** What an explanation was computed for: a classification result and one of its classes. */
export interface Explains {
  resultId: number;
  classIndex: number;
}

export interface WhyState {
  /** The class picked to explain; null: the shown result's top class. */
  classIndex: number | null;
  status: WhyStatus;
  progress: Progress | null;
  /** The explanation shown (registry id) and what it explains. */
  explanationId: number | null;
  explains: Explains | null;
  error: AppError | null;
}

export interface WhyActions {
  /** A class was picked in the "Why" view: explain it. */
  whyClassChosen(classIndex: number): Promise<void>;
  /** Explain the picked class (or the top one) of the shown result, unless that is already shown or running. */
  explanationRequested(): Promise<void>;
  explanationProgressed(event: ProgressEvent): void;
  explanationFinished(result: ExplainResult, explains: Explains): void;
  explanationFailed(error: AppError): void;
  explanationCancelled(): void;
  /** A new classification result is shown: its top class is explained next, the old explanation goes. */
  resultReplaced(): void;
}

export const initialWhyState: WhyState = { classIndex: null, status: 'idle', progress: null, explanationId: null, explains: null, error: null };

/** The class a result's "Why" view explains: the picked one, else the most probable. */
export function explainedClass(picked: number | null, probs: Float32Array): number {
  if (picked !== null && picked < probs.length) return picked;
  let top = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i] > probs[top]) top = i;
  return top;
}

export function whyActions(ctx: SliceContext): WhyActions {
  const { get, deps } = ctx;
  const why = (fields: Partial<WhyState>) => patch(ctx, 'why', fields);
  const actions = () => get().actions;
  let wanted: Explains | null = null;

  return {
    async whyClassChosen(classIndex) {
      why({ classIndex });
      await actions().explanationRequested();
    },

    async explanationRequested() {
      const { inference, model, why: state } = get();
      const result = ctx.results.get(inference.resultId);
      const blob = ctx.videos.get(inference.ranWith?.videoId);
      if (!result || !blob || !inference.ranWith || model.status !== 'ready') return;
      const explains: Explains = { resultId: inference.resultId!, classIndex: explainedClass(state.classIndex, result.probs) };
      const same = (a: Explains | null) => a?.resultId === explains.resultId && a.classIndex === explains.classIndex;
      if (same(state.explains) || (state.status === 'running' && same(wanted))) return;
      ctx.running.explain?.abort();
      const abort = (ctx.running.explain = new AbortController());
      const current = () => ctx.running.explain === abort;
      wanted = explains;
      why({ status: 'running', progress: null, error: null });
      try {
        const options = { classIndex: explains.classIndex, sampling: inference.ranWith.options.sampling };
        const explained = await ctx.client().explain(blob, options, (p) => current() && actions().explanationProgressed(p), abort.signal);
        if (current()) actions().explanationFinished(explained, explains);
        else explained.frames.forEach((f) => f.close());
      } catch (e) {
        if (current() && !isCancel(e)) actions().explanationFailed(explainError(e, model.info?.labels[explains.classIndex] ?? `class ${explains.classIndex}`));
      } finally {
        if (current()) ctx.running.explain = undefined;
      }
    },

    explanationProgressed(event) {
      const next = progressed(get().why.progress, event, deps.now());
      if (next) why({ progress: next });
    },

    explanationFinished(result, explains) {
      const previous = get().why.explanationId;
      why({ status: 'done', progress: null, explanationId: ctx.explanations.put(result), explains, error: null });
      ctx.explanations.release(previous);
    },

    explanationFailed(error) {
      why({ status: 'failed', progress: null, error });
    },

    explanationCancelled() {
      ctx.running.explain?.abort();
      ctx.running.explain = undefined;
      why({ status: 'idle', progress: null });
    },

    resultReplaced() {
      ctx.running.explain?.abort();
      ctx.running.explain = undefined;
      const previous = get().why.explanationId;
      why(initialWhyState);
      ctx.explanations.release(previous);
    },
  };
}
