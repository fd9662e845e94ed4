// What an attention run hands the explorer: the attention of a clip's first view, as arrays laid out by
// the clip's geometry (geometry.ts). Made by src/predictions/attention-maps.ts, drawn by src/ui/explorer.
import type { AttentionType } from '../checkpoint/config';
import type { HeadFusion } from './head-fusions';

/** Attention of the first view, for the explorer. N = gh·gw patches. */
export interface AttentionMaps {
  layers: number;
  frames: number;
  heads: number;
  grid: [number, number];
  /** Spatial attention of the CLS query to each patch, per layer/frame/head: [L, T, H, N]. (Joint: CLS to each (patch, frame) token; space-only: per frame.) */
  spatialCls: Float32Array;
  /** Temporal attention per layer/patch/head, query frame × key frame: [L, N, H, T, T]. Empty unless divided and within the read-back budget. */
  temporal: Float32Array;
  /** The same averaged over heads, [L, N, T, T], when only that fitted the budget (long clips); else empty. */
  temporalMean: Float32Array;
  /**
   * Full spatial attention of every query token, per layer: [L, Q, H, len, len] per head (`spatialHeads`) or
   * [L, Q, len, len] averaged over heads; Q, len = T, 1+N (divided, space-only) or 1, 1+N·T (joint). Empty
   * when it stayed on the GPU.
   */
  spatial: Float32Array;
  spatialHeads: boolean;
  /**
   * Attention rollout through layers 1..l, for each l (src/reference/rollout.ts): [L, 1+N·T] in token order
   * (CLS, then (p, t) at 1 + p·T + t) or [L, T, 1+N] (space-only), per head fusion and discard ratio.
   */
  rollouts: { fusion: HeadFusion; discard: number; layers: Float32Array }[];
  /** Bytes the run read back from the GPU (everything: logits and frames too), and the attention budget it was planned in. */
  bytesRead: number;
  budgetBytes: number;
  /**
   * Set when what was not read back per head stayed on the GPU: its rows are read on demand
   * (`attention-slices` with this token) until another clip runs on that engine.
   */
  kept?: { token: number; attentionType: AttentionType };
}
