// What a run reads back and keeps on the GPU: the policy behind a RunRequest's attention modes and the
// attention budget (src/attention/budget.ts), kept apart from the model steps that make the probabilities
// (forward.ts asks it, step by step, where each attention step's probabilities go).
import type { TimesformerConfig } from '../checkpoint/config';
import { DEFAULT_ATTENTION_BUDGET_BYTES, DEFAULT_KEPT_ATTENTION_BYTES, MAPS_DISCARDS, planAttentionReadBack } from '../attention/budget';
import { attentionGeometry, type ClipGeometry } from '../model/geometry';
import type { HeadFusion } from '../model/head-fusions';
import { packedWords } from './kernels/pack-f16';

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
   * Attention rollout for every head fusion (or those in `fusions`) with this discard ratio, composed on the GPU
   * from the full probabilities (src/engine/kernels/rollout.ts): `rollout.<fusion>` and `rollout.<fusion>.layers`.
   * With `explain`, in the same run: the rollout from the forward, the relevance from the backward after it.
   */
  rollout?: RolloutRequest;
  /**
   * Explain these classes (indices into the labels): also `grad_pixels.class.<c>` [1, T, 3, H, W] (∂ logit /
   * ∂ pixels; space-only: the mean over frames of the logit) and `relevance.class.<c>` ([1 + N·T]; space-only
   * [T, 1 + N]), by a backward pass after the forward (src/engine/backward.ts), one per class.
   */
  explain?: number[];
}

export interface RolloutRequest {
  discard: number;
  fusions?: readonly HeadFusion[];
}

/** Bytes an attention run ('maps') may read back per clip, and keep on the GPU for readAttention(). */
export interface AttentionBudget {
  readBytes: number;
  keptBytes: number;
}

export const DEFAULT_ATTENTION_BUDGET: AttentionBudget = { readBytes: DEFAULT_ATTENTION_BUDGET_BYTES, keptBytes: DEFAULT_KEPT_ATTENTION_BYTES };

/** The attention steps of a layer: divided temporal and spatial, or the full attention of joint and space-only. */
export type AttentionStep = 'temporal' | 'spatial' | 'full';

/**
 * Where one attention step's probabilities go: every one read back (`full`, as `attn.l.<step>`), the CLS rows
 * (`cls`, `.cls`), the head mean (`mean`, `.mean`: the rollout's fused matrix), kept on the GPU (`keep`).
 */
export interface AttentionWant {
  full: boolean;
  cls: boolean;
  mean: boolean;
  keep: boolean;
}

export interface ReadBackPolicy {
  want(step: AttentionStep, layer: number): AttentionWant;
  /** The rollout's discard ratios, when the run composes one. */
  discards?: readonly number[];
  /** Its head fusions (every one unless the budget says otherwise). */
  fusions?: readonly HeadFusion[];
}

export function readBackPolicy(request: RunRequest, c: TimesformerConfig, g: ClipGeometry, Hpx: number, Wpx: number, budget: AttentionBudget): ReadBackPolicy {
  const logitBytes = g.B * c.labels.length * 4;
  const frameBytes = request.returnInput ? packedWords(g.T * 3 * Hpx * Wpx) * 4 : 0;
  const maps = request.attention === 'maps' ? planAttentionReadBack(attentionGeometry(c, [g.T, 3, Hpx, Wpx]), budget.readBytes, budget.keptBytes, logitBytes + frameBytes) : undefined;
  const all = request.attention === 'all';
  const cls = maps !== undefined || request.attention === 'cls';
  return {
    want: (step, layer) =>
      step === 'temporal'
        ? { full: all || maps?.temporal === 'heads', cls: false, mean: maps?.temporal === 'mean', keep: !!maps?.keepTemporal }
        : { full: all || (step === 'spatial' && request.fullSpatialLayer === layer) || maps?.spatial === 'heads', cls, mean: maps?.spatial === 'mean', keep: !!maps?.keepSpatial },
    discards: request.rollout ? [request.rollout.discard] : maps ? MAPS_DISCARDS : undefined,
    fusions: request.rollout?.fusions ?? maps?.fusions,
  };
}
