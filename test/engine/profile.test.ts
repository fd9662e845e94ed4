// Per-kernel GPU times (timestamp queries, one pass per dispatch): what `npm run bench` prints as a view's
// profile. Both adapters the tests run on (SwiftShader, lavapipe) have timestamp-query; the baseline device
// (vitest project 'baseline') asks for no optional feature, and there a profile is refused in words.
import { describe, expect, it } from 'vitest';
import { TimesformerEngine } from '../../src/engine/timesformer';
import { loadFixture } from '../fixtures';
import { testRuntime } from '../gpu';

type Shape = [number, number, number, number];

describe('kernel profile', () => {
  it("times every dispatch of a plain run's plan, reusing that plan, and leaves the results unchanged", async () => {
    const { model, pixels } = await loadFixture('tiny-divided');
    const rt = (await testRuntime()).scope();
    const baseline = process.env.TIMESFORMER_DEVICE === 'baseline';
    expect(rt.gpu.features.timestampQuery).toBe(!baseline);
    const shape = pixels.shape as Shape;
    const engine = await TimesformerEngine.create(rt, model, { warm: [shape[0], shape[2], shape[3]] });
    try {
      if (baseline) {
        await expect(engine.profile(shape)).rejects.toThrow('this device has no timestamp-query: no per-kernel GPU times');
        return;
      }
      const before = (await engine.run(pixels.data, shape, { hiddenStates: false, attention: 'none' })).get('logits')!.data;
      // The warm-up's plan (returnInput: false) served the run above written without it, in another key order.
      expect(engine.keptPlans).toHaveLength(1);
      const profile = await engine.profile(shape);
      expect(engine.keptPlans).toHaveLength(1);
      const layers = model.config.numLayers;
      // Every layer's kernels appear once per layer, with a finite non-negative time.
      for (const kernel of ['temporal qkv', 'spatial attention', 'fc1', 'fc2']) {
        expect(profile.filter((k) => k.label.endsWith(` ${kernel}`)).length, kernel).toBe(layers);
      }
      expect(profile.every((k) => Number.isFinite(k.ms) && k.ms >= 0)).toBe(true);
      expect(profile.reduce((n, k) => n + k.ms, 0)).toBeGreaterThan(0);
      expect((await engine.run(pixels.data, shape, { attention: 'none', hiddenStates: false })).get('logits')!.data).toEqual(before);
    } finally {
      engine.destroy();
    }
  });
});
