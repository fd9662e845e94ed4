// The engine's explanations (src/engine/backward.ts) through engine.run: the same from CPU pixels and from a
// GpuClip, per class (the relevance differs between classes), the forward's outputs unchanged beside them,
// and a class the model does not have refused. Accuracy on every fixture is verify's (test/cli).
import { describe, expect, it } from 'vitest';
import { BACKEND_CATALOG } from '../../src/backends/registry';
import { wgslBackend } from '../../src/backends/wgsl';
import { TimesformerEngine, type GpuClip } from '../../src/engine/timesformer';
import { explanationOutputs } from '../../src/reference/relevance';
import { attentionGeometry } from '../../src/model/geometry';
import { loadFixture } from '../fixtures';
import { maxAbsDiff, sharedTestRuntime } from '../gpu';

describe('engine.run with explain', () => {
  it('tiny-divided: CPU pixels and a GpuClip give the same explanations, each class its own, as the CPU reference', async () => {
    const { model, pixels } = await loadFixture('tiny-divided');
    const rt = await sharedTestRuntime();
    const engine = await TimesformerEngine.create(rt, model);
    const shape = pixels.shape as [number, number, number, number];
    try {
      const plain = await engine.run(pixels.data, shape, { attention: 'none', hiddenStates: false });
      const fromCpu = await engine.run(pixels.data, shape, { attention: 'none', hiddenStates: false, explain: [0, 3] });
      expect([...fromCpu.keys()].sort()).toEqual(['grad_pixels.class.0', 'grad_pixels.class.3', 'logits', 'relevance.class.0', 'relevance.class.3']);
      expect(fromCpu.get('logits')!.data).toEqual(plain.get('logits')!.data);
      const staged = rt.upload('clip', pixels.data);
      const clip: GpuClip = { encode: (encoder, target) => encoder.copyBufferToBuffer(staged, 0, target, 0, pixels.data.byteLength) };
      const fromGpu = await engine.run(clip, shape, { attention: 'none', hiddenStates: false, explain: [0, 3] });
      const want = explanationOutputs(model, pixels, [0, 3], attentionGeometry(model.config, pixels.shape));
      for (const [name, t] of want) {
        expect(fromCpu.get(name)!.shape, name).toEqual(name.startsWith('grad') ? [1, ...pixels.shape] : t.shape);
        expect(fromGpu.get(name)!.data, name).toEqual(fromCpu.get(name)!.data);
        expect(maxAbsDiff(fromCpu.get(name)!.data, t.data), name).toBeLessThan(1e-5);
      }
      expect(maxAbsDiff(fromCpu.get('relevance.class.0')!.data, fromCpu.get('relevance.class.3')!.data)).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(fromCpu.get('grad_pixels.class.0')!.data, fromCpu.get('grad_pixels.class.3')!.data)).toBeGreaterThan(1e-4);
    } finally {
      engine.destroy();
    }
  });

  it('tiny-divided: the rollout in the same run as the explanation, each as its own run gives it', async () => {
    const { model, pixels } = await loadFixture('tiny-divided');
    const engine = await TimesformerEngine.create(await sharedTestRuntime(), model);
    const shape = pixels.shape as [number, number, number, number];
    try {
      const both = await engine.run(pixels.data, shape, { attention: 'none', hiddenStates: false, explain: [2], rollout: { discard: 0, fusions: ['mean'] } });
      expect([...both.keys()].sort()).toEqual(['grad_pixels.class.2', 'logits', 'relevance.class.2', 'rollout.mean', 'rollout.mean.layers']);
      const maps = await engine.run(pixels.data, shape, { attention: 'maps', hiddenStates: false });
      const explained = await engine.run(pixels.data, shape, { attention: 'none', hiddenStates: false, explain: [2] });
      for (const name of ['rollout.mean', 'rollout.mean.layers']) expect(both.get(name)!.data, name).toEqual(maps.get(name)!.data);
      for (const name of ['logits', 'grad_pixels.class.2', 'relevance.class.2']) expect(both.get(name)!.data, name).toEqual(explained.get(name)!.data);
    } finally {
      engine.destroy();
    }
  });

  it('tiny-space_only: one class alone is that class’s; an unknown class is refused and the engine goes on', async () => {
    const { model, pixels } = await loadFixture('tiny-space_only');
    const engine = await TimesformerEngine.create(await sharedTestRuntime(), model);
    const shape = pixels.shape as [number, number, number, number];
    try {
      const labels = model.config.labels.length;
      await expect(engine.run(pixels.data, shape, { attention: 'none', hiddenStates: false, explain: [labels] })).rejects.toThrow(`cannot explain class ${labels}: the model has ${labels} labels`);
      await expect(engine.run(pixels.data, shape, { attention: 'none', hiddenStates: false, explain: [1.5] })).rejects.toThrow('cannot explain class 1.5');
      const five = await engine.run(pixels.data, shape, { attention: 'none', hiddenStates: false, explain: [5] });
      const want = explanationOutputs(model, pixels, [5], attentionGeometry(model.config, pixels.shape));
      expect(five.get('relevance.class.5')!.shape).toEqual([shape[0], want.get('relevance.class.5')!.shape[1]]);
      for (const [name, t] of want) expect(maxAbsDiff(five.get(name)!.data, t.data), name).toBeLessThan(1e-5);
    } finally {
      engine.destroy();
    }
  });

  it('through the wgsl backend: RunOptions.explain, and capabilities.explain as the registry says (ours alone)', async () => {
    const { model, pixels } = await loadFixture('tiny-joint_space_time');
    const backend = wgslBackend(await TimesformerEngine.create(await sharedTestRuntime(), model));
    try {
      expect(backend.capabilities.explain).toBe(BACKEND_CATALOG.wgsl.explain);
      expect(Object.entries(BACKEND_CATALOG).filter(([, e]) => e.explain).map(([name]) => name)).toEqual(['wgsl']);
      const out = await backend.run(pixels.data, pixels.shape as [number, number, number, number], { explain: [2] });
      expect([...out.keys()].sort()).toEqual(['grad_pixels.class.2', 'logits', 'relevance.class.2']);
      expect(out.get('relevance.class.2')!.shape).toEqual([1 + 16 * 4]);
    } finally {
      await backend.dispose();
    }
  });
});
