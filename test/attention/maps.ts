// Random attention maps with the protocol's layout, rows normalised like softmax outputs.
import type { AttentionMaps } from '../../src/model/attention-maps';

/** A small deterministic generator (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `rows` softmax-like rows of `n` values; `keep` < 1 leaves the rest of each row's mass elsewhere (on the CLS). */
function rows(count: number, n: number, random: () => number, keep = 1): Float32Array {
  const out = new Float32Array(count * n);
  for (let r = 0; r < count; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += out[r * n + i] = random() ** 3;
    for (let i = 0; i < n; i++) out[r * n + i] *= keep / sum;
  }
  return out;
}

/** Maps of a divided (temporal) or per-frame model with per-head temporal and full spatial matrices, no rollout. */
export function randomMaps(L: number, T: number, H: number, gh: number, gw: number, seed = 1, temporal = true): AttentionMaps {
  const random = rng(seed);
  const N = gh * gw;
  return {
    layers: L,
    frames: T,
    heads: H,
    grid: [gh, gw],
    spatialCls: rows(L * T * H, N, random, 0.8), // 20% stays on the CLS itself
    temporal: temporal ? rows(L * N * H * T, T, random) : new Float32Array(0),
    temporalMean: new Float32Array(0),
    spatial: rows(L * T * H * (1 + N), 1 + N, random),
    spatialHeads: true,
    rollouts: [],
    bytesRead: 0,
    budgetBytes: 64 * 2 ** 20,
  };
}
