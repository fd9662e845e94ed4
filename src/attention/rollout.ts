// Attention rollout (Abnar & Zuidema, 2020) adapted to TimeSformer's divided space-time attention, from
// the maps the worker records: the CLS row of spatial attention for every layer, and full temporal
// attention for every patch.
//
// Dimension key: L layers, T frames, H heads, N patches; tokens are the CLS and the patch tokens (p, t).
import type { ModelInfo, AttentionMaps } from '../worker/protocol';
import { patchCount } from './maps';

export type AttentionType = ModelInfo['attentionType'];

export interface Rollout {
  /** Relevance of each input patch token to the final CLS, frame-major: [T, N] (index t·N + p). */
  patches: Float32Array;
  /** Relevance left on the CLS token itself (a learned vector, not the video). patches + cls sum to 1. */
  cls: number;
}

/**
 * What exactly is computed. Rollout follows the final CLS token back through the layers, multiplying the
 * row vector r (one weight per token, starting as "all on the CLS") by each sub-layer's residual-mixed,
 * head-averaged attention  R = ½·I + ½·Ā  (Ā = mean over heads). A divided layer runs temporal then
 * spatial attention, so its matrix is R_space · R_time and, going backwards from layer `throughLayer` to
 * layer 0:  r ← r · R_space(l),  then  r ← r · R_time(l).
 *
 * - R_time(l) is exact: the CLS does not take part (its row is identity); patch token (p, tq) mixes with
 *   (p, tk) by temporal[l, p, :, tq, tk] averaged over heads.
 * - R_space(l), CLS row, is exact: the CLS is repeated per frame, attends to the N patches of frame t
 *   with weights a[t, p] (spatialCls averaged over heads) and to itself with 1 − Σp a[t, p], and the T
 *   outputs are averaged — so the CLS row gives (p, t) the weight a[t, p] / T.
 * - R_space(l), patch rows, are NOT recorded (only the CLS row is), and are taken as identity: a patch
 *   token is assumed to keep its own content through spatial attention. This is the approximation:
 *   spatial context that patches gather from each other in early layers and hand on to the CLS later is
 *   not seen, so the map is sharper (less spread in space) than a full rollout would be. Temporal
 *   spread is fully accounted for.
 *
 * Joint space-time (one softmax over all N·T patches) uses a[t, p] without the 1/T; space-only has one
 * CLS per frame (each attends within its frame, the prediction averages them), each starting at 1/T.
 * MLPs and LayerNorms act per token and are ignored, as in the original rollout. Every row of every R
 * sums to 1, so the result sums to 1: it reads as "share of the decision traced to each input token".
 */
export function rollout(maps: AttentionMaps, attentionType: AttentionType, throughLayer = maps.layers - 1): Rollout {
  const { frames: T, heads: H } = maps;
  const N = patchCount(maps);
  if (throughLayer < 0 || throughLayer >= maps.layers) throw new RangeError(`rollout: layer ${throughLayer} is outside 0..${maps.layers - 1}`);
  if (attentionType === 'divided_space_time' && maps.temporal.length === 0) throw new Error('rollout: divided attention needs the temporal maps');

  // One CLS (divided, joint) or one per frame (space-only); cls[g] is the weight on CLS g.
  const perFrameCls = attentionType === 'space_only';
  const cls = perFrameCls ? new Float64Array(T).fill(1 / T) : new Float64Array([1]);
  const group = (t: number) => (perFrameCls ? t : 0);
  const clsShare = attentionType === 'divided_space_time' ? 1 / T : 1; // weight of a[t, p] in the CLS row
  let r = new Float64Array(T * N); // [T, N]
  const a = new Float64Array(T * N); // head-mean CLS→patch attention of one layer
  const selfWeight = new Float64Array(cls.length);

  for (let l = throughLayer; l >= 0; l--) {
    // r ← r · R_space(l): the CLS row hands ½·share·a[t, p] of its weight to each patch; patch rows are identity.
    a.fill(0);
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        const o = ((l * T + t) * H + h) * N;
        for (let p = 0; p < N; p++) a[t * N + p] += maps.spatialCls[o + p] / H;
      }
    }
    selfWeight.fill(1);
    for (let t = 0; t < T; t++) for (let p = 0; p < N; p++) selfWeight[group(t)] -= clsShare * a[t * N + p];
    for (let t = 0; t < T; t++) {
      const c = cls[group(t)];
      for (let p = 0; p < N; p++) r[t * N + p] += 0.5 * c * clsShare * a[t * N + p];
    }
    for (let g = 0; g < cls.length; g++) cls[g] *= 0.5 + 0.5 * Math.max(0, selfWeight[g]);

    // r ← r · R_time(l): patch (p, tq) gives ½ to itself and ½·Ā[p, tq, tk] to (p, tk).
    if (attentionType !== 'divided_space_time') continue;
    const next = new Float64Array(T * N);
    for (let p = 0; p < N; p++) {
      for (let tq = 0; tq < T; tq++) {
        const w = r[tq * N + p];
        if (w === 0) continue;
        next[tq * N + p] += 0.5 * w;
        for (let h = 0; h < H; h++) {
          const o = (((l * N + p) * H + h) * T + tq) * T;
          for (let tk = 0; tk < T; tk++) next[tk * N + p] += (0.5 * w * maps.temporal[o + tk]) / H;
        }
      }
    }
    r = next;
  }
  return { patches: Float32Array.from(r), cls: cls.reduce((s, c) => s + c, 0) };
}
