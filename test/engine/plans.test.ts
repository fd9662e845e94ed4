// Recorded plans are kept per (input shape, request) and reused, within a memory budget (least recently used
// out first); engines and preprocessing on one device share one Runtime's kernels, each owning its buffers.
import { describe, expect, it } from 'vitest';
import { chooseGemmVariant } from '../../src/engine/autotune';
import { TimesformerEngine } from '../../src/engine/timesformer';
import { loadFixture } from '../fixtures';
import { testRuntime } from '../gpu';

type Shape = [number, number, number, number];

describe('engine plans', () => {
  it('keeps a plan per shape and request, reuses it with the same results, and evicts the least recently used past the budget', async () => {
    const { model, pixels } = await loadFixture('tiny-divided');
    const rt = (await testRuntime()).scope();
    const shape = pixels.shape as Shape;
    const engine = await TimesformerEngine.create(rt, model);
    const logits = async (request: Parameters<TimesformerEngine['run']>[2], clip = pixels.data, s = shape) => (await engine.run(clip, s, request)).get('logits')!.data;
    try {
      const plain = await logits({ attention: 'none', hiddenStates: false });
      const maps = await logits({ attention: 'maps', hiddenStates: false });
      // Two frames of the same size: another shape, another plan.
      const twoFrames = pixels.data.subarray(0, 2 * 3 * shape[2] * shape[3]);
      await logits({ attention: 'none', hiddenStates: false }, twoFrames, [2, 3, shape[2], shape[3]]);
      expect(engine.keptPlans.map((p) => JSON.parse(p.key)[0])).toEqual([4, 4, 2]);
      // Reused: the same answer, and it becomes the most recently used.
      expect(await logits({ attention: 'none', hiddenStates: false })).toEqual(plain);
      expect(maps).toEqual(plain);
      expect(engine.keptPlans.map((p) => [JSON.parse(p.key)[0], JSON.parse(p.key)[3].attention])).toEqual([[4, 'maps'], [2, 'none'], [4, 'none']]);
    } finally {
      engine.destroy();
    }

    // A budget of one plan: each new plan evicts the older ones, results unchanged.
    const small = await TimesformerEngine.create(rt, model, { planBudgetBytes: 1 });
    try {
      const first = (await small.run(pixels.data, shape, { attention: 'none', hiddenStates: false })).get('logits')!.data;
      await small.run(pixels.data, shape, { attention: 'maps', hiddenStates: false });
      expect(small.keptPlans).toHaveLength(1);
      expect((await small.run(pixels.data, shape, { attention: 'none', hiddenStates: false })).get('logits')!.data).toEqual(first);
      expect(small.keptPlans).toHaveLength(1);
    } finally {
      small.destroy();
    }
  });

  it('engines on one Runtime share its kernels and the GEMM measurement; destroying one leaves the other working', async () => {
    const { model, pixels } = await loadFixture('tiny-divided');
    const rt = await testRuntime();
    const shape = pixels.shape as Shape;
    expect(chooseGemmVariant(rt)).toBe(chooseGemmVariant(rt.scope())); // measured once per device
    const a = await TimesformerEngine.create(rt, model);
    const b = await TimesformerEngine.create(rt, model);
    const run = (e: TimesformerEngine) => e.run(pixels.data, shape, { attention: 'none', hiddenStates: false }).then((o) => o.get('logits')!.data);
    const expected = await run(a);
    a.destroy();
    expect(await run(b)).toEqual(expected);
    b.destroy();
  });
});
