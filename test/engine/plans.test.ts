// Recorded plans are kept per (input shape, request) and reused, within a memory budget (least recently used
// out first); engines and preprocessing on one device share one Runtime's kernels, each owning its buffers;
// a batch of clips runs in one submission (or as few as its pixel budget allows) with what each gives alone.
import { describe, expect, it } from 'vitest';
import { chooseGemmVariant } from '../../src/engine/autotune';
import { TimesformerEngine } from '../../src/engine/timesformer';
import { maskedClip, randomOrder } from '../../src/attention/explanation';
import type { RunRequest } from '../../src/engine/timesformer';
import type { NamedTensors } from '../../src/tensor';
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

  it('runs a batch of clips in one submission (or as few as its pixel budget allows), each clip’s outputs exactly its run alone', async () => {
    const { model, pixels } = await loadFixture('tiny-divided');
    const rt = (await testRuntime()).scope();
    const shape = pixels.shape as Shape;
    const engine = await TimesformerEngine.create(rt, model);
    // Deletion-curve clips: 0, 4, 8, … of the 64 patches removed in a random order.
    const order = randomOrder(64, 3);
    const clips = Array.from({ length: 5 }, (_, k) => maskedClip(pixels.data, shape, [4, 4], order, 4 * k));
    const submissions = (() => {
      const queue = rt.device.queue, submit = queue.submit.bind(queue);
      let count = 0;
      queue.submit = (buffers) => (count++, submit(buffers));
      return { take: () => [count, (count = 0)][0], restore: () => (queue.submit = submit) };
    })();
    try {
      const requests: RunRequest[] = [
        { attention: 'none', hiddenStates: false },
        // Several outputs, one of them f16 (the input frames), and a rollout.
        { attention: 'cls', hiddenStates: false, returnInput: true, rollout: { discard: 0.5, fusions: ['mean'] } },
      ];
      for (const request of requests) {
        const alone: NamedTensors[] = [];
        for (const clip of clips) alone.push(await engine.run(clip, shape, request));
        expect(new Set(alone.map((o) => o.get('logits')!.data.join())).size).toBe(clips.length);
        submissions.take();
        const batch = await engine.runBatch(clips, shape, request);
        expect(submissions.take(), JSON.stringify(request)).toBe(1);
        // Two clips' pixels per submission: 2 + 2 + 1.
        const split = await engine.runBatch(clips, shape, request, 2 * clips[0].byteLength);
        expect(submissions.take()).toBe(3);
        for (const outputs of [batch, split]) {
          expect(outputs).toHaveLength(clips.length);
          outputs.forEach((o, k) => {
            expect([...o.keys()].sort()).toEqual([...alone[k].keys()].sort());
            for (const [name, t] of alone[k]) expect(o.get(name)!.data, `clip ${k} ${name}`).toEqual(t.data);
          });
        }
      }
      expect(await engine.runBatch([], shape, requests[0])).toEqual([]);
      await expect(engine.runBatch(clips, shape, { ...requests[0], explain: [1] })).rejects.toThrow('a batch of clips is run without a backward pass');
      await expect(engine.runBatch([clips[0], clips[1].subarray(1)], shape, requests[0])).rejects.toThrow('pixels must be [T, 3, H, W]');
    } finally {
      submissions.restore();
      engine.destroy();
    }
  });
});
