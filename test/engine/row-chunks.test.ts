// The engine within a small binding limit: a model whose qkv and MLP activations are larger than one binding (as
// TimeSformer-HR's and -L's are on WebGPU's baseline 128 MiB) runs its GEMMs in row chunks and binds qkv in
// parts, and gives exactly the numbers of the same plan on whole buffers. The model is shaped for it: 2×2
// patches make many token rows of a narrow width, so that the activations outgrow the clip and the weights.
import { describe, expect, it } from 'vitest';
import { randomModel } from '../../src/bench/random-model';
import { TimesformerEngine } from '../../src/engine/timesformer';
import type { TimesformerConfig } from '../../src/checkpoint/config';
import { bindGroupLabels, random, testRuntime } from '../gpu';

describe('engine in row chunks', () => {
  // 513 token rows of width 16: qkv 98 KB, the MLP activation 131 KB; the clip, the residual stream and every weight under 40 KB.
  const T = 2, size = 32;
  for (const attentionType of ['divided_space_time', 'joint_space_time', 'space_only'] as TimesformerConfig['attentionType'][]) {
    it(`${attentionType}: a 40 KB binding limit gives the whole-buffer result exactly`, async () => {
      const model = randomModel({ imageSize: size, patchSize: 2, numFrames: T, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 64, labels: 5, attentionType });
      const pixels = random(T * 3 * size * size, 3);
      const whole = await testRuntime();
      const outputs = [];
      for (const rt of [whole, whole.withBindingLimit(40 * 1024)]) {
        const engine = await TimesformerEngine.create(rt, model);
        const { result, labels } = await bindGroupLabels(rt.device, () => engine.run(pixels, [T, 3, size, size], { attention: 'none', hiddenStates: true }));
        const chunked = labels.filter((l) => / rows \d+\.\.\d+$/.test(l));
        if (rt === whole) expect(chunked).toEqual([]);
        else expect(chunked.filter((l) => l.includes('fc1')).length).toBeGreaterThanOrEqual(2 * 4);
        outputs.push(result);
        engine.destroy();
      }
      expect([...outputs[1].keys()]).toEqual([...outputs[0].keys()]);
      for (const [name, t] of outputs[0]) expect(outputs[1].get(name)!.data, name).toEqual(t.data);
      expect(outputs[0].get('logits')!.data.some((v) => v !== 0)).toBe(true);
      whole.destroy();
    });
  }
});
