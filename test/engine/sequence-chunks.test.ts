// The engine with attention probabilities larger than one binding (as TimeSformer-HR's and -L's spatial ones are on
// WebGPU's baseline 128 MiB): kept in parts of whole sequences (src/engine/sequence-chunks.ts), every probability,
// CLS row, rollout, slice read by readAttention and the explanation (grad_pixels, relevance) are the numbers of
// the same run on whole buffers. The model is shaped for it: 2×2 patches of 16² frames give 65-token spatial
// sequences of 33 800 bytes each (2 heads), while every other buffer stays under 40 KB.
import { describe, expect, it } from 'vitest';
import { randomModel } from '../../src/bench/random-model';
import { sequenceChunks } from '../../src/engine/sequence-chunks';
import { stagingSizes } from '../../src/engine/staged-read';
import { TimesformerEngine } from '../../src/engine/timesformer';
import type { TimesformerConfig } from '../../src/checkpoint/config';
import { bindGroupLabels, random, testRuntime } from '../gpu';

/** Labels of the staging buffers made while `work` runs. */
async function stagingLabels(device: GPUDevice, work: () => Promise<unknown>): Promise<string[]> {
  const create = device.createBuffer.bind(device);
  const labels: string[] = [];
  device.createBuffer = (d) => (d.usage & GPUBufferUsage.MAP_READ && labels.push(d.label ?? ''), create(d));
  try {
    await work();
    return labels;
  } finally {
    device.createBuffer = create;
  }
}

describe('sequence chunks', () => {
  // Parts are buffers of whole 16-byte units: 5 sequences of 200 bytes need 1008.
  it('as many whole sequences a part as one binding and one buffer hold; one part when the whole fits', () => {
    expect(sequenceChunks({ binding: 1008, buffer: 2000 }, 7, 50)).toEqual([{ first: 0, count: 5 }, { first: 5, count: 2 }]);
    expect(sequenceChunks({ binding: 1008, buffer: 608 }, 7, 50)).toEqual([0, 3, 6].map((first) => ({ first, count: Math.min(3, 7 - first) })));
    expect(sequenceChunks({ binding: 1408, buffer: 1408 }, 7, 50)).toEqual([{ first: 0, count: 7 }]);
    // 3 sequences of 7 floats: 84 bytes, 96 as a buffer (16-byte units): over a 90-byte binding.
    expect(sequenceChunks({ binding: 90, buffer: 90 }, 3, 7)).toEqual([{ first: 0, count: 2 }, { first: 2, count: 1 }]);
    // One sequence over the limit: a part of one (which the runtime then refuses to bind, in one line).
    expect(sequenceChunks({ binding: 100, buffer: 100 }, 2, 50)).toEqual([{ first: 0, count: 1 }, { first: 1, count: 1 }]);
    expect(stagingSizes([400, 400, 40], 300)).toEqual([300, 300, 240]);
    expect(stagingSizes([400], 1 << 20)).toEqual([400]);
    expect(stagingSizes([400, 8], Infinity)).toEqual([408]);
  });
});

describe('engine with attention probabilities in parts', () => {
  const T = 3, size = 16, seqBytes = 2 * 65 * 65 * 4;
  /** Where sequence 2 (the second part's first) starts: 2·2·65² floats. */
  const boundary = 2 * 2 * 65 * 65;
  for (const attentionType of ['divided_space_time', 'space_only'] as TimesformerConfig['attentionType'][]) {
    it(`${attentionType}: a binding of two frames' probabilities gives the whole-buffer numbers (probabilities, rollout, readAttention, explanation)`, async () => {
      const model = randomModel({ imageSize: size, patchSize: 2, numFrames: T, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 64, labels: 5, attentionType });
      const pixels = random(T * 3 * size * size, 3), shape: [number, number, number, number] = [T, 3, size, size];
      const step = attentionType === 'divided_space_time' ? 'spatial' : 'full';
      const whole = await testRuntime();
      const runs = [];
      // Parts of two frames' probabilities, each its own buffer; a read-back of three frames' staged in two buffers.
      for (const rt of [whole, whole.withBindingLimit(2 * seqBytes + 16, 2 * seqBytes + 16)]) {
        // Nothing read back per head by 'maps' (a read budget of 0): the probabilities are kept on the GPU.
        const engine = await TimesformerEngine.create(rt, model, { attentionBudgetBytes: 0, keptAttentionBytes: 2 ** 30 });
        const stagings = await stagingLabels(rt.device, () => engine.run(pixels, shape, { attention: 'all', hiddenStates: false }));
        if (rt !== whole) expect(stagings).toContain(`attn.1.${step} staging 1`);
        const all = await bindGroupLabels(rt.device, () => engine.run(pixels, shape, { attention: 'all', hiddenStates: false, rollout: { discard: 0.5 }, explain: [1, 3] }));
        const perPart = all.labels.filter((l) => / sequences \d+\.\.\d+/.test(l));
        if (rt === whole) expect(perPart).toEqual([]);
        // Each layer's attention, its rollout fusions, its recomputation, attention backward (two) and relevance, by part.
        else expect(perPart.filter((l) => l.startsWith('L1 ') && / sequences 2\.\.2/.test(l)).length).toBeGreaterThanOrEqual(5);
        const maps = await engine.run(pixels, shape, { attention: 'maps', hiddenStates: false });
        // Slices across the part boundary and within each part.
        const slices = [0, 1].flatMap((l) => [
          { name: `attn.${l}.${step}`, offset: boundary - 100, count: 230 },
          { name: `attn.${l}.${step}`, offset: 7, count: 65 },
          { name: `attn.${l}.${step}`, offset: boundary + 65 * 65 + 3, count: 65 },
        ]);
        runs.push({ all: all.result, maps, slices: await engine.readAttention(slices) });
        engine.destroy();
      }
      const [w, p] = runs;
      expect([...p.all.keys()]).toEqual([...w.all.keys()]);
      for (const name of ['attn.1.' + step, 'relevance.class.3', 'grad_pixels.class.1', 'rollout.mean']) expect(w.all.has(name), name).toBe(true);
      for (const [name, t] of w.all) expect(p.all.get(name)!.data, name).toEqual(t.data);
      expect([...p.maps.keys()]).toEqual([...w.maps.keys()]);
      for (const [name, t] of w.maps) expect(p.maps.get(name)!.data, name).toEqual(t.data);
      p.slices.forEach((s, k) => expect(s, `slice ${k}`).toEqual(w.slices[k]));
      // The slices are the probabilities the 'all' run read back.
      const first = w.all.get(`attn.0.${step}`)!.data;
      expect(w.slices[0]).toEqual(first.slice(boundary - 100, boundary + 130));
      whole.destroy();
    });
  }
});
