// Explanations sliced for drawing and the deletion curve: by hand on small shapes, and on the tiny fixtures with
// the CPU reference's backward, relevance and rollout standing in for the engine.
import { describe, expect, it } from 'vitest';
import { curveArea, deletionCurves, deletionFractions, frameImportance, maskedClip, patchOrder, patchScores, randomOrder } from '../../src/attention/explanation';
import { attentionGeometry, patchGrid } from '../../src/model/geometry';
import { viewProbabilities } from '../../src/predictions/scores';
import { backwardReference } from '../../src/reference/backward';
import { relevance } from '../../src/reference/relevance';
import { rolloutOutputs } from '../../src/reference/rollout';
import { forwardReference } from '../../src/reference/timesformer';
import { loadFixture } from '../fixtures';

describe('token rows as patches', () => {
  it('reads patch (p, t) at 1 + p·T + t (divided, joint) and per frame after its CLS (space_only)', () => {
    const T = 3, N = 2;
    const row = Float32Array.from({ length: 1 + N * T }, (_, i) => i * 10);
    // p = 0: tokens 1, 2, 3 for t = 0, 1, 2; p = 1: tokens 4, 5, 6.
    expect([...patchScores(row, { frames: T, patches: N, attentionType: 'divided_space_time' })]).toEqual([10, 40, 20, 50, 30, 60]);
    const perFrame = Float32Array.from({ length: T * (1 + N) }, (_, i) => i);
    expect([...patchScores(perFrame, { frames: T, patches: N, attentionType: 'space_only' })]).toEqual([1, 2, 4, 5, 7, 8]);
    expect(() => patchScores(row, { frames: T, patches: N + 1, attentionType: 'joint_space_time' })).toThrow(/expected 10/);
  });

  it('frame importance sums each frame’s patches and leaves the CLS out', () => {
    const row = Float32Array.from([100, 1, 2, 3, 4, 5, 6]); // T = 2, N = 3: (p, t) at 1 + 2p + t
    expect([...frameImportance({ shape: [7], data: row }, { frames: 2, patches: 3, attentionType: 'divided_space_time' })]).toEqual([1 + 3 + 5, 2 + 4 + 6]);
  });
});

describe('orders', () => {
  it('by score, highest first, ties by index', () => {
    expect([...patchOrder(Float32Array.from([0.1, 0.5, 0.1, 0.9, -1]))]).toEqual([3, 1, 0, 2, 4]);
  });

  it('a seeded random order is a permutation, the same for the same seed and not for another', () => {
    const a = randomOrder(50, 7), b = randomOrder(50, 7), c = randomOrder(50, 8);
    expect([...a]).toEqual([...b]);
    expect([...a].sort((x, y) => x - y)).toEqual([...Array(50).keys()]);
    expect([...a]).not.toEqual([...c]);
    expect([...a]).not.toEqual([...Array(50).keys()]);
  });
});

describe('the masked clip', () => {
  it('sets exactly the first k patches of the order to 0 in every channel', () => {
    // T = 2 frames, 3 channels, 4 × 6 pixels on a 2 × 3 grid: patches of 2 × 2.
    const shape = [2, 3, 4, 6], grid: [number, number] = [2, 3];
    const pixels = Float32Array.from({ length: 2 * 3 * 4 * 6 }, (_, i) => i + 1);
    const order = Uint32Array.from([10, 2, 0, 1, 3, 4, 5, 6, 7, 8, 9, 11]); // frame 1 patch 4 first, then frame 0 patch 2
    const out = maskedClip(pixels, shape, grid, order, 2);
    const removed = (t: number, y: number, x: number) => (t === 1 && y >= 2 && x >= 2 && x < 4) || (t === 0 && y < 2 && x >= 4);
    for (let t = 0; t < 2; t++)
      for (let ch = 0; ch < 3; ch++)
        for (let y = 0; y < 4; y++)
          for (let x = 0; x < 6; x++) {
            const i = ((t * 3 + ch) * 4 + y) * 6 + x;
            expect(out[i], `t${t} c${ch} y${y} x${x}`).toBe(removed(t, y, x) ? 0 : pixels[i]);
          }
    expect(pixels[0]).toBe(1); // the input is not touched
    expect(maskedClip(pixels, shape, grid, order, 12).every((v) => v === 0)).toBe(true);
    expect(() => maskedClip(pixels, [2, 3, 5, 6], grid, order, 1)).toThrow();
    expect(() => maskedClip(pixels, shape, grid, order, 13)).toThrow();
  });
});

describe('deletion curves', () => {
  it('fractions from 0 to 1 and the trapezoid area', () => {
    expect(deletionFractions(4)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(() => deletionFractions(0)).toThrow();
    expect(curveArea([0, 0.5, 1], [1, 1, 0])).toBeCloseTo(0.75, 12);
    expect(curveArea([0, 1], [0.2, 0.2])).toBeCloseTo(0.2, 12);
  });

  it('score each step’s clips of every order as one batch, the whole clip once with the first, with progress', async () => {
    const shape = [2, 3, 4, 4], grid: [number, number] = [2, 2];
    const pixels = new Float32Array(2 * 3 * 16).fill(1);
    // The share of pixels still there: falls linearly whatever the order.
    const batches: number[] = [];
    const kept = async (clips: Float32Array[]) => (batches.push(clips.length), clips.map((clip) => clip.reduce((s, v) => s + v, 0) / clip.length));
    const steps: number[] = [];
    const curves = await deletionCurves(pixels, shape, grid, [{ order: 'relevance', patches: patchOrder(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8])) }, { order: 'random', patches: randomOrder(8, 1) }], 4, kept, (done) => steps.push(done));
    expect(batches).toEqual([3, 2, 2, 2]);
    expect(steps).toEqual([3, 5, 7, 9]);
    for (const c of curves) {
      expect([...c.probs]).toEqual([1, 0.75, 0.5, 0.25, 0]);
      expect(c.area).toBeCloseTo(0.5, 6);
    }
    expect(curves.map((c) => c.order)).toEqual(['relevance', 'random']);
  });

  it('on the tiny models with the CPU reference: relevance, rollout and random orders from the whole clip to none of it', { timeout: 120_000 }, async () => {
    for (const name of ['tiny-divided', 'tiny-space_only'] as const) {
      const { model, pixels } = await loadFixture(name);
      const g = attentionGeometry(model.config, pixels.shape);
      const grid = patchGrid(model.config, pixels.shape[2], pixels.shape[3]);
      const c = 1;
      const back = backwardReference(model, pixels, c);
      const rel = relevance(back.forward, back.attention, g);
      const rollout = rolloutOutputs(back.forward, g).get('rollout.mean')!;
      const probability = async (clip: Float32Array) => {
        const logits = forwardReference(model, { shape: pixels.shape, data: clip }, { attentions: false }).get('logits')!;
        return viewProbabilities(logits.data, logits.shape[0])[c];
      };
      const probabilities = (clips: Float32Array[]) => Promise.all(clips.map(probability));
      const orders = [
        { order: 'relevance' as const, patches: patchOrder(patchScores(rel.data, g)) },
        { order: 'rollout' as const, patches: patchOrder(patchScores(rollout.data, g)) },
        { order: 'random' as const, patches: randomOrder(g.frames * g.patches, 1) },
      ];
      expect([...orders[0].patches]).not.toEqual([...orders[1].patches]);
      const curves = await deletionCurves(pixels.data, pixels.shape, grid, orders, 10, probabilities);
      const whole = await probability(pixels.data), none = await probability(new Float32Array(pixels.data.length));
      for (const curve of curves) {
        expect(curve.probs).toHaveLength(11);
        expect(curve.probs[0]).toBeCloseTo(whole, 6);
        expect(curve.probs[10]).toBeCloseTo(none, 6);
        expect(curve.area).toBeCloseTo(curveArea(curve.fractions, curve.probs), 9);
      }
      // Halfway the orders have removed different patches, so the model scores different clips.
      expect(new Set(curves.map((cv) => cv.probs[5].toFixed(6))).size, name).toBeGreaterThan(1);
    }
  });
});
