// The attention rollout the engine computes (src/engine/kernels/rollout.ts; definition in
// src/reference/rollout.ts), sliced for drawing: the share of the final CLS traced to each input patch
// of each frame, through layers 1..l.
//
// Dimension key: L layers, T frames, N patches; engine layout [L, 1+N·T] (CLS, then (p, t) at 1 + p·T + t)
// or [L, T, 1+N] for space-only (one rollout per frame's CLS).
import type { HeadFusion } from '../model/head-fusions';
import type { AttentionMaps } from '../model/attention-maps';
import { patchCount } from './maps';

export interface RolloutFrames {
  /** Per frame, the weight of each patch: [T][N]. */
  frames: Float32Array[];
  /** Weight left on the CLS token(s): a learned vector, not the video. frames + cls sum to 1. */
  cls: number;
}

/** The discard ratios and fusions the run computed. */
export function rolloutChoices(maps: AttentionMaps): { fusions: HeadFusion[]; discards: number[] } {
  return { fusions: [...new Set(maps.rollouts.map((r) => r.fusion))], discards: [...new Set(maps.rollouts.map((r) => r.discard))].sort((a, b) => a - b) };
}

/**
 * The rollout through layer `throughLayer` (0-based) for one fusion and discard ratio, per frame; space-only's
 * T per-frame rollouts are averaged (the prediction averages the frames' CLS). undefined if not computed.
 */
export function rolloutFrames(maps: AttentionMaps, spaceOnly: boolean, fusion: HeadFusion, discard: number, throughLayer: number): RolloutFrames | undefined {
  const r = maps.rollouts.find((x) => x.fusion === fusion && x.discard === discard);
  if (!r) return undefined;
  const T = maps.frames, N = patchCount(maps);
  const size = spaceOnly ? T * (1 + N) : 1 + N * T;
  if (throughLayer < 0 || throughLayer >= maps.layers) throw new RangeError(`rollout: layer ${throughLayer} is outside 0..${maps.layers - 1}`);
  if (r.layers.length !== maps.layers * size) throw new Error(`rollout: ${r.layers.length} values, expected L·${size} = ${maps.layers * size}`);
  const v = r.layers.subarray(throughLayer * size, (throughLayer + 1) * size);
  const frames = Array.from({ length: T }, (_, t) => Float32Array.from({ length: N }, (_, p) => (spaceOnly ? v[t * (1 + N) + 1 + p] / T : v[1 + p * T + t])));
  let cls = 0;
  if (spaceOnly) for (let t = 0; t < T; t++) cls += v[t * (1 + N)] / T;
  else cls = v[0];
  return { frames, cls };
}
