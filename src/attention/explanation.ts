// Class-specific explanations, sliced for drawing and checked for faithfulness: what the engine's backward pass
// returns (`grad_pixels.class.<c>`, `relevance.class.<c>`; definitions in src/reference/relevance.ts) turned into
// pixel saliency, per-patch and per-frame relevance, and the deletion curve (remove the most relevant patches
// first; the faster the class's probability falls, the more the model agrees with the explanation).
//
// Dimension key: T frames, N = gh·gw patches of P×P pixels, H×W pixels; a token row as the engine's:
// [1 + N·T] with CLS = 0 and patch (p, t) at 1 + p·T + t (divided, joint), or [T, 1 + N] (space_only).
// Patches are counted frame-major here: patch (p, t) is index t·N + p of a [T, N] array.
import type { AttentionType } from '../checkpoint/config';
import type { Tensor } from '../tensor';

export interface TokenGeometry {
  frames: number;
  patches: number;
  attentionType: AttentionType;
}

/** Pixel saliency, input × gradient summed over the channels: [T, 3, H, W] × [T, 3, H, W] → [T, H, W]. */
export function inputTimesGradient(pixels: Tensor, grad: Tensor): Tensor {
  const [T, C, Hpx, Wpx] = pixels.shape.slice(-4), area = Hpx * Wpx;
  if (grad.data.length !== pixels.data.length) throw new Error(`input × gradient: ${grad.data.length} gradients for ${pixels.data.length} pixels`);
  const out = new Float32Array(T * area);
  for (let t = 0; t < T; t++)
    for (let ch = 0; ch < C; ch++)
      for (let i = 0; i < area; i++) out[t * area + i] += pixels.data[(t * C + ch) * area + i] * grad.data[(t * C + ch) * area + i];
  return { shape: [T, Hpx, Wpx], data: out };
}

/** A token row (relevance or rollout, engine layout) as each frame's patches: [T, N], frame-major. */
export function patchScores(row: Float32Array, g: TokenGeometry): Float32Array {
  const { frames: T, patches: N } = g;
  const spaceOnly = g.attentionType === 'space_only';
  const expected = spaceOnly ? T * (1 + N) : 1 + N * T;
  if (row.length !== expected) throw new Error(`explanation: a token row of ${row.length} values, expected ${expected}`);
  const out = new Float32Array(T * N);
  for (let t = 0; t < T; t++) for (let p = 0; p < N; p++) out[t * N + p] = spaceOnly ? row[t * (1 + N) + 1 + p] : row[1 + p * T + t];
  return out;
}

/** Per-frame importance: the relevance summed over each frame's patches → [T]. */
export function frameImportance(rel: Tensor, g: TokenGeometry): Float32Array {
  const { frames: T, patches: N } = g;
  const scores = patchScores(rel.data, g);
  const out = new Float32Array(T);
  for (let t = 0; t < T; t++) for (let p = 0; p < N; p++) out[t] += scores[t * N + p];
  return out;
}

/** The patches from the highest score to the lowest (ties by index): indices into [T, N]. */
export function patchOrder(scores: Float32Array): Uint32Array {
  const order = Uint32Array.from(scores.keys());
  return order.sort((a, b) => scores[b] - scores[a] || a - b);
}

/** The patches in a random order, the same for the same seed (mulberry32, Fisher–Yates). */
export function randomOrder(count: number, seed: number): Uint32Array {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * The clip [T, 3, H, W] (normalized) with the first `k` patches of `order` removed: set to 0, which in normalized
 * input is the dataset's mean colour. `grid` = [gh, gw]; a patch is (H / gh) × (W / gw) pixels.
 */
export function maskedClip(pixels: Float32Array, shape: readonly number[], grid: [number, number], order: Uint32Array, k: number): Float32Array<ArrayBuffer> {
  const [T, C, Hpx, Wpx] = shape, [gh, gw] = grid, N = gh * gw;
  const ph = Hpx / gh, pw = Wpx / gw;
  if (pixels.length !== T * C * Hpx * Wpx) throw new Error(`masked clip: ${pixels.length} values for shape [${shape}]`);
  if (!Number.isInteger(ph) || !Number.isInteger(pw)) throw new Error(`masked clip: ${Hpx}×${Wpx} pixels do not tile a ${gh}×${gw} grid`);
  if (k < 0 || k > order.length || order.length !== T * N) throw new Error(`masked clip: ${k} of ${order.length} patches, the clip has ${T * N}`);
  const out = Float32Array.from(pixels);
  for (const index of order.subarray(0, k)) {
    const t = Math.floor(index / N), p = index % N;
    const y0 = Math.floor(p / gw) * ph, x0 = (p % gw) * pw;
    for (let ch = 0; ch < C; ch++)
      for (let y = y0; y < y0 + ph; y++) out.fill(0, ((t * C + ch) * Hpx + y) * Wpx + x0, ((t * C + ch) * Hpx + y) * Wpx + x0 + pw);
  }
  return out;
}

/** The fractions of the patches removed at each of `steps` steps, 0 and 1 included. */
export function deletionFractions(steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`deletion curve: steps must be a positive integer, got ${steps}`);
  return Array.from({ length: steps + 1 }, (_, i) => i / steps);
}

/** The area under a curve (trapezoids), e.g. probability over the fraction removed: lower = a more faithful order. */
export function curveArea(xs: readonly number[], ys: ArrayLike<number>): number {
  if (xs.length !== ys.length) throw new Error(`curve area: ${xs.length} x values, ${ys.length} y values`);
  let area = 0;
  for (let i = 1; i < xs.length; i++) area += ((xs[i] - xs[i - 1]) * (ys[i] + ys[i - 1])) / 2;
  return area;
}

export type DeletionOrder = 'relevance' | 'rollout' | 'random';

export interface DeletionCurve {
  order: DeletionOrder;
  /** Fraction of the patches removed at each point, from 0 to 1. */
  fractions: number[];
  /** The class's probability at each point. */
  probs: Float32Array;
  area: number;
}

/**
 * Deletion curves for several orders over the same clip: at each fraction the clip with that share of the patches
 * removed is scored by `probabilities` (the class's probability for each of a batch of clips), one batch per
 * step with every order's clip; the whole clip (fraction 0) is scored once, with the first step's batch, and
 * shared. `onStep(done, total)` after each batch, counting clips.
 */
export async function deletionCurves(
  pixels: Float32Array,
  shape: readonly number[],
  grid: [number, number],
  orders: { order: DeletionOrder; patches: Uint32Array }[],
  steps: number,
  probabilities: (clips: Float32Array<ArrayBuffer>[]) => Promise<ArrayLike<number>>,
  onStep: (done: number, total: number) => void = () => {},
): Promise<DeletionCurve[]> {
  const fractions = deletionFractions(steps);
  const total = 1 + orders.length * steps;
  const probs = orders.map(() => new Float32Array(fractions.length));
  let done = 0;
  for (let i = 1; i < fractions.length; i++) {
    const clips = orders.map(({ patches }) => maskedClip(pixels, shape, grid, patches, Math.round(fractions[i] * patches.length)));
    const whole = i === 1 ? [Float32Array.from(pixels)] : [];
    const scored = await probabilities([...whole, ...clips]);
    if (scored.length !== whole.length + clips.length) throw new Error(`deletion curve: ${scored.length} probabilities for ${whole.length + clips.length} clips`);
    orders.forEach((_, o) => {
      if (whole.length) probs[o][0] = scored[0];
      probs[o][i] = scored[whole.length + o];
    });
    onStep((done += scored.length), total);
  }
  return orders.map(({ order }, o) => ({ order, fractions, probs: probs[o], area: curveArea(fractions, probs[o]) }));
}
