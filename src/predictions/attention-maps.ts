// The engine's attention outputs (named as the reference's) → the explorer's arrays.
import { DEFAULT_ATTENTION_BUDGET_BYTES } from '../attention/budget';
import { HEAD_FUSIONS } from '../model/head-fusions';
import type { NamedTensors } from '../tensor';
import type { AttentionMaps } from '../model/attention-maps';

const ROLLOUT_LAYERS = /^rollout\.(mean|max|min)(?:\.discard=([\d.]+))?\.layers$/;

/**
 * spatialCls [L, T, H, N]: how much the CLS query attends to patch p of frame t.
 *   divided: row 0 of each frame's spatial attention, CLS→CLS dropped;
 *   space-only: the same per frame; joint: the one CLS row over all (p, t) tokens, regrouped by frame.
 * temporal [L, N, H, T, T] or temporalMean [L, N, T, T]: divided only, whichever the budget let back.
 * spatial: the full spatial (joint, space-only: full) matrices of every layer, per head or head-averaged.
 * rollouts: every `rollout.<fusion>[.discard=<ratio>].layers` the run returned.
 * bytesRead: everything the run read back (logits and input frames included).
 */
export function attentionMaps(outputs: NamedTensors, layers: number, frames: number, heads: number, grid: [number, number], budgetBytes = DEFAULT_ATTENTION_BUDGET_BYTES): AttentionMaps {
  const T = frames, H = heads, N = grid[0] * grid[1];
  const spatialCls = new Float32Array(layers * T * H * N);
  const divided = outputs.has('attn.0.temporal') || outputs.has('attn.0.temporal.mean') || outputs.has('attn.0.spatial.cls');
  const stack = (name: (l: number) => string) => {
    const parts = Array.from({ length: layers }, (_, l) => outputs.get(name(l))?.data);
    if (parts.some((p) => !p)) return new Float32Array(0);
    const out = new Float32Array(parts.reduce((n, p) => n + p!.length, 0));
    parts.reduce((at, p) => (out.set(p!, at), at + p!.length), 0);
    return out;
  };
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
  }
  const kind = divided ? 'spatial' : 'full';
  const spatialPerHead = stack((l) => `attn.${l}.${kind}`);
  const rollouts: AttentionMaps['rollouts'] = [];
  for (const [name, t] of outputs) {
    const m = ROLLOUT_LAYERS.exec(name);
    if (m) rollouts.push({ fusion: m[1] as (typeof HEAD_FUSIONS)[number], discard: m[2] ? Number(m[2]) : 0, layers: t.data });
  }
  rollouts.sort((a, b) => HEAD_FUSIONS.indexOf(a.fusion) - HEAD_FUSIONS.indexOf(b.fusion) || a.discard - b.discard);
  return {
    layers,
    frames: T,
    heads: H,
    grid,
    spatialCls,
    temporal: divided ? stack((l) => `attn.${l}.temporal`) : new Float32Array(0),
    temporalMean: divided ? stack((l) => `attn.${l}.temporal.mean`) : new Float32Array(0),
    spatial: spatialPerHead.length > 0 ? spatialPerHead : stack((l) => `attn.${l}.${kind}.mean`),
    spatialHeads: spatialPerHead.length > 0,
    rollouts,
    bytesRead: [...outputs.values()].reduce((n, t) => n + (t.readBytes ?? t.data.byteLength), 0),
    budgetBytes,
  };
}
