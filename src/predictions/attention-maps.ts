// The engine's attention outputs (named as the reference's) → the explorer's arrays.
import type { NamedTensors } from '../tensor';
import type { AttentionMaps } from '../worker/protocol';

/**
 * spatialCls [L, T, H, N]: how much the CLS query attends to patch p of frame t.
 *   divided: row 0 of each frame's spatial attention, CLS→CLS dropped;
 *   space-only: the same per frame; joint: the one CLS row over all (p, t) tokens, regrouped by frame.
 * temporal [L, N, H, T, T]: divided only.
 */
export function attentionMaps(outputs: NamedTensors, layers: number, frames: number, heads: number, grid: [number, number]): AttentionMaps {
  const T = frames, H = heads, N = grid[0] * grid[1];
  const spatialCls = new Float32Array(layers * T * H * N);
  const divided = outputs.has('attn.0.temporal');
  const temporal = new Float32Array(divided ? layers * N * H * T * T : 0);
  for (let l = 0; l < layers; l++) {
    const out = spatialCls.subarray(l * T * H * N, (l + 1) * T * H * N);
    const perFrame = outputs.get(`attn.${l}.spatial.cls`) ?? (outputs.get(`attn.${l}.full.cls`)?.shape[0] === T ? outputs.get(`attn.${l}.full.cls`) : undefined);
    if (perFrame) {
      // [T, H, 1+N]
      for (let i = 0; i < T * H; i++) out.set(perFrame.data.subarray(i * (1 + N) + 1, (i + 1) * (1 + N)), i * N);
    } else {
      // joint: [1, H, 1+N·T], token 1 + p·T + t
      const row = outputs.get(`attn.${l}.full.cls`);
      if (!row) throw new Error(`no attention output for layer ${l}`);
      for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let p = 0; p < N; p++) out[(t * H + h) * N + p] = row.data[h * (1 + N * T) + 1 + p * T + t];
    }
    if (divided) temporal.set(outputs.get(`attn.${l}.temporal`)!.data, l * N * H * T * T);
  }
  return { layers, frames: T, heads: H, grid, spatialCls, temporal };
}
