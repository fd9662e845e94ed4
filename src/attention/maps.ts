// Slices of the attention maps the worker returns (src/worker/protocol.ts AttentionMaps), for drawing.
//
// Dimension key: L layers, T frames, H heads, N = gh·gw patches (patch p = row·gw + col).
//   spatialCls   [L, T, H, N]          CLS query → patch p of frame t
//   temporal     [L, N, H, T, T]       token (p, tq) → token (p, tk), divided space-time only
//   temporalMean [L, N, T, T]          the same averaged over heads (long clips, when only that fits)
//   spatial      [L, Q, H?, len, len]  every query's row: Q, len = T, 1+N (divided, space-only) or 1, 1+N·T (joint)
import type { AttentionMaps } from '../worker/protocol';

/** One head, or the mean over heads (what the paper's figures show). */
export type HeadChoice = number | 'mean';

export function patchCount(maps: Pick<AttentionMaps, 'grid'>): number {
  return maps.grid[0] * maps.grid[1];
}

export function hasTemporal(maps: AttentionMaps): boolean {
  return maps.temporal.length > 0 || maps.temporalMean.length > 0;
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

/** Temporal attention of the tokens at patch `patch`, query frame × key frame: [T, T]; undefined when that head was not read back. */
export function temporalPatch(maps: AttentionMaps, layer: number, patch: number, head: HeadChoice): Float32Array | undefined {
  const { frames: T, heads: H } = maps;
  const N = patchCount(maps);
  if (maps.temporal.length > 0) return pickHead(maps.temporal, head, H, T * T, (h) => ((layer * N + patch) * H + h) * T * T);
  if (head === 'mean' && maps.temporalMean.length > 0) return maps.temporalMean.slice((layer * N + patch) * T * T, (layer * N + patch + 1) * T * T);
  return undefined;
}

/** Whether the full spatial matrices came back for this head choice. */
export function hasSpatialQueries(maps: AttentionMaps, head: HeadChoice): boolean {
  return maps.spatial.length > 0 && (maps.spatialHeads || head === 'mean');
}

/**
 * Spatial attention of a query patch (p in frame t): per frame, its weight on each of that frame's N
 * patches (null for frames it does not attend to: divided and space-only look within frame t only;
 * joint looks at every frame), and its weight on the CLS. undefined when the matrices stayed on the GPU.
 */
export function spatialQuery(maps: AttentionMaps, layer: number, query: { frame: number; patch: number }, head: HeadChoice): { frames: (Float32Array | null)[]; cls: number } | undefined {
  if (!hasSpatialQueries(maps, head)) return undefined;
  const { frames: T, heads: H } = maps;
  const N = patchCount(maps);
  const joint = maps.spatial.length === maps.layers * (maps.spatialHeads ? H : 1) * (1 + N * T) ** 2;
  const Q = joint ? 1 : T, len = joint ? 1 + N * T : 1 + N;
  const q = joint ? 0 : query.frame, row = joint ? 1 + query.patch * T + query.frame : 1 + query.patch;
  const heads = maps.spatialHeads ? H : 1;
  const offset = (h: number) => ((((layer * Q + q) * heads + h) * len + row) * len);
  const values = maps.spatialHeads ? pickHead(maps.spatial, head, H, len, offset) : maps.spatial.slice(offset(0), offset(0) + len);
  const frames = Array.from({ length: T }, (_, t) => {
    if (!joint && t !== query.frame) return null;
    const out = new Float32Array(N);
    for (let p = 0; p < N; p++) out[p] = values[joint ? 1 + p * T + t : 1 + p];
    return out;
  });
  return { frames, cls: values[0] };
}

/** Checks that the arrays have the sizes the header promises (a protocol mismatch should fail loudly, not draw garbage). */
export function checkMaps(maps: AttentionMaps): void {
  const { layers: L, frames: T, heads: H } = maps;
  const N = patchCount(maps);
  const expect = (name: string, length: number, allowed: [string, number][]) => {
    if (length !== 0 && !allowed.some(([, n]) => n === length)) throw new Error(`attention maps: ${name} has ${length} values, expected ${allowed.map(([f, n]) => `${f} = ${n}`).join(' or ')}`);
  };
  if (maps.spatialCls.length !== L * T * H * N) {
    throw new Error(`attention maps: spatialCls has ${maps.spatialCls.length} values, expected L·T·H·N = ${L}·${T}·${H}·${N}`);
  }
  expect('temporal', maps.temporal.length, [['L·N·H·T·T', L * N * H * T * T]]);
  expect('temporalMean', maps.temporalMean.length, [['L·N·T·T', L * N * T * T]]);
  const heads = maps.spatialHeads ? H : 1;
  expect('spatial', maps.spatial.length, [
    ['L·T·heads·(1+N)²', L * T * heads * (1 + N) ** 2],
    ['L·heads·(1+N·T)²', L * heads * (1 + N * T) ** 2],
  ]);
}
