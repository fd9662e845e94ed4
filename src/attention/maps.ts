// Slices of the attention maps the worker returns (src/worker/protocol.ts AttentionMaps), for drawing.
//
// Dimension key: L layers, T frames, H heads, N = gh·gw patches (patch p = row·gw + col).
//   spatialCls   [L, T, H, N]          CLS query → patch p of frame t
//   temporal     [L, N, H, T, T]       token (p, tq) → token (p, tk), divided space-time only
//   temporalMean [L, N, T, T]          the same averaged over heads (long clips, when only that fits)
//   spatial      [L, Q, H?, len, len]  every query's row: Q, len = T, 1+N (divided, space-only) or 1, 1+N·T (joint)
//
// Long clips keep what is over the read-back budget on the GPU (`maps.kept`): the rows of a picked patch are
// read on demand (`keptSlices`) into a FetchedAttention, which the functions here draw from like the rest.
import type { AttentionSlice } from '../engine/timesformer';
import type { AttentionMaps } from '../model/attention-maps';

/** One head, or the mean over heads (what the paper's figures show). */
export type HeadChoice = number | 'mean';

/**
 * Rows read from the GPU on demand, by key: `temporalKey` → that patch's [H, T, T] temporal maps,
 * `spatialKey` → the query's spatial (joint, space-only: full) row of each head, [H, len].
 */
export type FetchedAttention = ReadonlyMap<string, Float32Array>;
const NOTHING_FETCHED: FetchedAttention = new Map();
export const temporalKey = (layer: number, patch: number) => `temporal ${layer} ${patch}`;
export const spatialKey = (layer: number, query: { frame: number; patch: number }) => `spatial ${layer} ${query.frame} ${query.patch}`;

/** The kept slices that the query's views in `layer` need and neither `maps` nor `fetched` hold: each key's slices, in order. */
export function keptSlices(maps: AttentionMaps, layer: number, query: { frame: number; patch: number }, fetched: FetchedAttention): { key: string; slices: AttentionSlice[] }[] {
  if (!maps.kept) return [];
  const { frames: T, heads: H } = maps;
  const N = patchCount(maps);
  const divided = maps.kept.attentionType === 'divided_space_time';
  const wanted: { key: string; slices: AttentionSlice[] }[] = [];
  const temporal = temporalKey(layer, query.patch);
  if (divided && maps.temporal.length === 0 && !fetched.has(temporal)) {
    wanted.push({ key: temporal, slices: [{ name: `attn.${layer}.temporal`, offset: query.patch * H * T * T, count: H * T * T }] }); // [N, H, T, T]
  }
  const spatial = spatialKey(layer, query);
  if (!maps.spatialHeads && !fetched.has(spatial)) {
    // [Q, H, len, len]: one row per head.
    const { len, q, row } = querySequence(maps.kept.attentionType === 'joint_space_time', T, N, query);
    const name = `attn.${layer}.${divided ? 'spatial' : 'full'}`;
    wanted.push({ key: spatial, slices: Array.from({ length: H }, (_, h) => ({ name, offset: ((q * H + h) * len + row) * len, count: len })) });
  }
  return wanted;
}

export function patchCount(maps: Pick<AttentionMaps, 'grid'>): number {
  return maps.grid[0] * maps.grid[1];
}

/** Whether the temporal maps of `patch` in `layer` can be drawn: read back, or fetched on demand. */
export function hasTemporal(maps: AttentionMaps, layer: number, patch: number, fetched = NOTHING_FETCHED): boolean {
  return maps.temporal.length > 0 || maps.temporalMean.length > 0 || fetched.has(temporalKey(layer, patch));
}

/** The spatial sequences of a query (p in frame t): count Q, length len, which sequence q and row. */
function querySequence(joint: boolean, T: number, N: number, query: { frame: number; patch: number }) {
  return joint ? { Q: 1, len: 1 + N * T, q: 0, row: 1 + query.patch * T + query.frame } : { Q: T, len: 1 + N, q: query.frame, row: 1 + query.patch };
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

/** Temporal attention of the tokens at patch `patch`, query frame × key frame: [T, T]; undefined when that head was neither read back nor fetched. */
export function temporalPatch(maps: AttentionMaps, layer: number, patch: number, head: HeadChoice, fetched = NOTHING_FETCHED): Float32Array | undefined {
  const { frames: T, heads: H } = maps;
  const N = patchCount(maps);
  if (maps.temporal.length > 0) return pickHead(maps.temporal, head, H, T * T, (h) => ((layer * N + patch) * H + h) * T * T);
  const block = fetched.get(temporalKey(layer, patch));
  if (block) return pickHead(block, head, H, T * T, (h) => h * T * T);
  if (head === 'mean' && maps.temporalMean.length > 0) return maps.temporalMean.slice((layer * N + patch) * T * T, (layer * N + patch + 1) * T * T);
  return undefined;
}

/** Whether the full spatial matrices came back for this head choice. */
export function hasSpatialQueries(maps: AttentionMaps, head: HeadChoice): boolean {
  return maps.spatial.length > 0 && (maps.spatialHeads || head === 'mean');
}

/** The query's row over its sequence's tokens for `head`, from the maps or what was fetched; undefined when neither holds it. */
function queryRow(maps: AttentionMaps, layer: number, query: { frame: number; patch: number }, head: HeadChoice, fetched: FetchedAttention): { joint: boolean; values: Float32Array } | undefined {
  const { frames: T, heads: H } = maps;
  const N = patchCount(maps);
  if (hasSpatialQueries(maps, head)) {
    const joint = maps.spatial.length === maps.layers * (maps.spatialHeads ? H : 1) * (1 + N * T) ** 2;
    const { Q, len, q, row } = querySequence(joint, T, N, query);
    const heads = maps.spatialHeads ? H : 1;
    const offset = (h: number) => (((layer * Q + q) * heads + h) * len + row) * len;
    return { joint, values: maps.spatialHeads ? pickHead(maps.spatial, head, H, len, offset) : maps.spatial.slice(offset(0), offset(0) + len) };
  }
  const rows = fetched.get(spatialKey(layer, query));
  if (!rows) return undefined;
  const len = rows.length / H;
  return { joint: maps.kept?.attentionType === 'joint_space_time', values: pickHead(rows, head, H, len, (h) => h * len) };
}

/**
 * Spatial attention of a query patch (p in frame t): per frame, its weight on each of that frame's N
 * patches (null for frames it does not attend to: divided and space-only look within frame t only;
 * joint looks at every frame), and its weight on the CLS. undefined when its row stayed on the GPU and was not fetched.
 */
export function spatialQuery(maps: AttentionMaps, layer: number, query: { frame: number; patch: number }, head: HeadChoice, fetched = NOTHING_FETCHED): { frames: (Float32Array | null)[]; cls: number } | undefined {
  const found = queryRow(maps, layer, query, head, fetched);
  if (!found) return undefined;
  const { joint, values } = found;
  const T = maps.frames;
  const N = patchCount(maps);
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
