// Slices of the attention maps the worker records (src/worker/protocol.ts AttentionMaps), for drawing.
//
// Dimension key: L layers, T frames, H heads, N = gh·gw patches (patch p = row·gw + col).
//   spatialCls [L, T, H, N]     CLS query → patch p of frame t
//   temporal   [L, N, H, T, T]  token (p, tq) → token (p, tk), divided space-time only
import type { AttentionMaps } from '../worker/protocol';

/** One head, or the mean over heads (what the paper's figures show). */
export type HeadChoice = number | 'mean';

export function patchCount(maps: Pick<AttentionMaps, 'grid'>): number {
  return maps.grid[0] * maps.grid[1];
}

export function hasTemporal(maps: AttentionMaps): boolean {
  return maps.temporal.length > 0;
}

/** `count` consecutive values starting at `offset(h)`, for one head or averaged over all: out[i]. */
function pickHead(src: Float32Array, head: HeadChoice, heads: number, count: number, offset: (h: number) => number): Float32Array {
  if (head !== 'mean') return src.slice(offset(head), offset(head) + count);
  const out = new Float32Array(count);
  for (let h = 0; h < heads; h++) {
    const o = offset(h);
    for (let i = 0; i < count; i++) out[i] += src[o + i];
  }
  for (let i = 0; i < count; i++) out[i] /= heads;
  return out;
}

/** CLS → patch attention of one frame: [N]. */
export function spatialFrame(maps: AttentionMaps, layer: number, frame: number, head: HeadChoice): Float32Array {
  const { frames: T, heads: H } = maps;
  const N = patchCount(maps);
  return pickHead(maps.spatialCls, head, H, N, (h) => ((layer * T + frame) * H + h) * N);
}

/** Temporal attention of the tokens at patch `patch`, query frame × key frame: [T, T]. */
export function temporalPatch(maps: AttentionMaps, layer: number, patch: number, head: HeadChoice): Float32Array {
  const { frames: T, heads: H } = maps;
  const N = patchCount(maps);
  return pickHead(maps.temporal, head, H, T * T, (h) => ((layer * N + patch) * H + h) * T * T);
}

/** Checks that the arrays have the sizes the header promises (a protocol mismatch should fail loudly, not draw garbage). */
export function checkMaps(maps: AttentionMaps): void {
  const { layers: L, frames: T, heads: H } = maps;
  const N = patchCount(maps);
  if (maps.spatialCls.length !== L * T * H * N) {
    throw new Error(`attention maps: spatialCls has ${maps.spatialCls.length} values, expected L·T·H·N = ${L}·${T}·${H}·${N}`);
  }
  if (maps.temporal.length !== 0 && maps.temporal.length !== L * N * H * T * T) {
    throw new Error(`attention maps: temporal has ${maps.temporal.length} values, expected L·N·H·T·T = ${L}·${N}·${H}·${T}·${T}`);
  }
}
