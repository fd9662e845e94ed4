// What an explorer run ('maps') reads back, planned within the byte budget; what stays on the GPU is read
// on demand (readAttention) and equals the reference.
import { describe, expect, it } from 'vitest';
import { planAttentionReadBack } from '../../src/attention/budget';
import { TimesformerEngine } from '../../src/engine/timesformer';
import { attentionMaps } from '../../src/predictions/attention-maps';
import { fuseHeads } from '../../src/reference/rollout';
import { forwardReference } from '../../src/reference/timesformer';
import { loadFixture } from '../fixtures';
import { maxAbsDiff, testDevice } from '../gpu';

const MB = 2 ** 20;

describe('attention read-back plan', () => {
  it('keeps TimeSformer-L (96 × 196 tokens, base width) under 64 MB: temporal maps kept on the GPU, spatial ones not read back', () => {
    const plan = planAttentionReadBack({ attentionType: 'divided_space_time', layers: 12, frames: 96, patches: 196, heads: 12 });
    expect(plan).toMatchObject({ temporal: 'none', keepTemporal: true, spatial: 'none', keepSpatial: false });
    // Its fused matrices take 265 MB per head fusion on the GPU: the rollout is computed for the mean only.
    expect(plan.fusions).toEqual(['mean']);
    expect(plan.bytes).toBeLessThan(15 * MB); // CLS rows 10.9 MB + rollouts 2.9 MB
  });

  it('reads base (8 frames) temporal maps per head and its full spatial maps averaged over heads', () => {
    const plan = planAttentionReadBack({ attentionType: 'divided_space_time', layers: 12, frames: 8, patches: 196, heads: 12 });
    expect(plan).toMatchObject({ temporal: 'heads', spatial: 'mean', keepSpatial: true, fusions: ['mean', 'max', 'min'] });
    expect(plan.bytes).toBeLessThan(64 * MB);
  });

  it('reads everything per head for a small model at 96 frames', () => {
    const plan = planAttentionReadBack({ attentionType: 'divided_space_time', layers: 4, frames: 96, patches: 36, heads: 3 });
    expect(plan).toMatchObject({ temporal: 'heads', spatial: 'heads' });
    expect(plan.bytes).toBeLessThan(64 * MB);
  });
});

describe('engine attention maps within a budget', () => {
  it('reads back head means when the heads do not fit, and serves the rest from the GPU on demand', async () => {
    const { model, pixels } = await loadFixture('tiny-divided');
    // 3 frames of 48×64 (a 3×4 grid), as the engine's own shape test: CLS rows 1248 B, rollouts 3996 B, logits 40 B,
    // temporal maps 3456 B per head / 864 B averaged, spatial 16224 B / 4056 B. This budget fits the temporal mean only.
    const budget = 1248 + 3996 + 40 + 864 + 100;
    const engine = await TimesformerEngine.create(await testDevice(), model, { attentionBudgetBytes: budget });
    try {
      const T = 3, Hpx = 48, Wpx = 64, N = 12, H = 4;
      const data = pixels.data.slice(0, T * 3 * 64 * 64).filter((_, i) => Math.floor(i / 64) % 64 < Hpx);
      const ref = forwardReference(model, { shape: [T, 3, Hpx, Wpx], data });
      const outputs = await engine.run(data, [T, 3, Hpx, Wpx], { attention: 'maps', hiddenStates: false });
      const maps = attentionMaps(outputs, 2, T, H, [3, 4], budget);
      expect(maps.bytesRead).toBeLessThanOrEqual(budget);
      expect(maps.temporal.length).toBe(0);
      expect(maps.spatial.length).toBe(0);
      const mean = Float32Array.from(fuseHeads(ref.get('attn.1.temporal')!.data, N, H, T, 'mean'));
      expect(maxAbsDiff(outputs.get('attn.1.temporal.mean')!.data, mean)).toBeLessThan(5e-5);
      expect(maps.rollouts.map((r) => `${r.fusion}@${r.discard}`)).toEqual(['mean@0', 'mean@0.5', 'mean@0.9', 'max@0', 'max@0.5', 'max@0.9', 'min@0', 'min@0.5', 'min@0.9']);

      // On demand: patch 5's temporal maps of layer 0 (every head) and the spatial rows of query (patch 7, frame 2), layer 1.
      const spatialRow = (h: number) => (((2 * H + h) * (1 + N) + 1 + 7) * (1 + N));
      const [temporal, ...rows] = await engine.readAttention([
        { name: 'attn.0.temporal', offset: 5 * H * T * T, count: H * T * T },
        ...[0, 1, 2, 3].map((h) => ({ name: 'attn.1.spatial', offset: spatialRow(h), count: 1 + N })),
      ]);
      expect(maxAbsDiff(temporal, ref.get('attn.0.temporal')!.data.slice(5 * H * T * T, 6 * H * T * T))).toBeLessThan(5e-5);
      rows.forEach((row, h) => expect(maxAbsDiff(row, ref.get('attn.1.spatial')!.data.slice(spatialRow(h), spatialRow(h) + 1 + N))).toBeLessThan(5e-5));
      await expect(engine.readAttention([{ name: 'attn.1.spatial', offset: 0, count: 10 ** 6 }])).rejects.toThrow(/outside its 2028 values/);
      await expect(engine.readAttention([{ name: 'attn.7.spatial', offset: 0, count: 1 }])).rejects.toThrow(/not kept on the GPU/);
    } finally {
      engine.destroy();
    }
  });
});
