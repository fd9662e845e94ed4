// The memory plan (src/engine/memory-plan.ts) against what the engine really allocates on a Dawn device: every
// byte of every buffer created while the weights are made and while each plan is recorded (uniforms aside),
// for each attention scheme and request, explanations included; then the numbers for base, HR and L shapes, the
// choices and refusals of fitMemory, and an explanation that does not fit refused before anything is allocated.
import { describe, expect, it } from 'vitest';
import { randomCheckpoint, randomModel } from '../../src/bench/random-model';
import type { TimesformerConfig } from '../../src/checkpoint/config';
import { GpuMemoryError } from '../../src/engine/device';
import { deviceMemory, explanationRefusal, fitMemory, planBytes, SCOPE_BYTES, weightBytes, type DeviceMemory } from '../../src/engine/memory-plan';
import { DEFAULT_PLAN_BUDGET_BYTES, TimesformerEngine, type EngineOptions, type RunRequest } from '../../src/engine/timesformer';
import { loadFixture, type FixtureName } from '../fixtures';
import { random, testRuntime } from '../gpu';

/** Bytes of the buffers `work` creates on `device` (uniform buffers, a few bytes per dispatch, not counted). */
async function created(device: GPUDevice, work: () => Promise<unknown>): Promise<number> {
  const create = device.createBuffer.bind(device);
  let bytes = 0;
  device.createBuffer = (d) => {
    if (!(d.usage & GPUBufferUsage.UNIFORM)) bytes += d.size;
    return create(d);
  };
  try {
    await work();
  } finally {
    device.createBuffer = create;
  }
  return bytes;
}

const FORCED: EngineOptions = { kernels: { gemm: 'registers', attention: 'global', layerNorm: 'workgroup', gemmTransposed: 'rows1' } };
type Clip = [number, number, number];

/** A fixture, or a model and its name; on the test device, or within a lowered binding and buffer limit. */
async function checkAgainstEngine(fixture: FixtureName | { name: string; model: Parameters<typeof TimesformerEngine.create>[1] }, runs: { clip?: Clip; request: RunRequest }[], options: EngineOptions = {}, limit?: number) {
  const { name, model } = typeof fixture === 'string' ? { name: fixture, model: (await loadFixture(fixture)).model } : fixture;
  const c = model.config;
  const device = await testRuntime();
  const rt = limit ? device.withBindingLimit(limit, limit) : device.scope();
  let engine: TimesformerEngine | undefined;
  const weights = await created(rt.device, async () => (engine = await TimesformerEngine.create(rt, model, { ...FORCED, ...options })));
  expect(weights, `${name} weights`).toBe(weightBytes(c, engine!.weightDType).total + SCOPE_BYTES);
  try {
    for (const { clip = [c.numFrames, c.imageSize, c.imageSize], request } of runs) {
      const [T, H, W] = clip;
      const plan = await created(rt.device, () => engine!.run(random(T * 3 * H * W, T + H), [T, 3, H, W], request));
      const planned = planBytes(c, T, H, W, request, { readBytes: options.attentionBudgetBytes ?? 64 * 2 ** 20, keptBytes: options.keptAttentionBytes ?? 2 ** 30 }, rt.limits);
      const what = `${name} [${clip}] ${JSON.stringify(request)}`;
      expect(plan, what).toBe(planned.total);
      expect(engine!.keptPlans.at(-1)!.bytes, what).toBe(planned.total);
      expect(planned.activations + planned.attention + planned.rollout + planned.readBack + planned.explanation).toBe(planned.total);
      expect(planned.explanation > 0, what).toBe(!!request.explain);
    }
  } finally {
    engine!.destroy();
  }
}

const REQUESTS: RunRequest[] = [
  { attention: 'none', hiddenStates: false },
  { attention: 'all', hiddenStates: true, rollout: { discard: 0.5 } },
  { attention: 'maps', hiddenStates: false, returnInput: true },
  { attention: 'cls', hiddenStates: false },
  { attention: 'none', hiddenStates: false, fullSpatialLayer: 1 },
  { attention: 'none', hiddenStates: false, explain: [1] },
  // What the worker's explanation asks for (src/worker/explain.ts): the rollout from the same forward.
  { attention: 'none', hiddenStates: false, explain: [0, 2], rollout: { discard: 0, fusions: ['mean'] } },
];

describe('memory plan against the engine', () => {
  for (const name of ['tiny-divided', 'tiny-space_only', 'tiny-joint_space_time'] as const) {
    it(`${name}: the weights' and every plan's bytes are what the engine creates`, async () => {
      await checkAgainstEngine(name, [...REQUESTS.map((request) => ({ request })), { clip: [3, 48, 64], request: { attention: 'maps', hiddenStates: false } }]);
    });
  }

  it('small-divided, and a maps run whose budgets leave head means read back and maps kept on the GPU', async () => {
    await checkAgainstEngine('small-divided', [{ request: REQUESTS[0] }, { request: REQUESTS[2] }]);
    // As test/attention/attention-budget.test.ts: a read budget that fits the temporal mean only, a kept budget for the rest.
    const maps = { attention: 'maps', hiddenStates: false } as const;
    await checkAgainstEngine('tiny-divided', [{ request: maps }], { attentionBudgetBytes: 1248 + 3996 + 40 + 864 + 100, keptAttentionBytes: 40_000 });
    await checkAgainstEngine('tiny-divided', [{ request: maps }], { attentionBudgetBytes: 1248 + 3996 + 40 + 864 + 100, keptAttentionBytes: 0 });
  });

  // As test/engine/sequence-chunks.test.ts: spatial probabilities of 33 800 bytes a frame, over a limit of two frames'.
  for (const attentionType of ['divided_space_time', 'space_only'] as const) {
    it(`${attentionType}: probabilities in parts of whole sequences, and read-backs in several staging buffers, within a lowered limit`, async () => {
      const model = randomModel({ imageSize: 16, patchSize: 2, numFrames: 3, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 64, labels: 5, attentionType });
      const maps = { attention: 'maps', hiddenStates: false } as const;
      const fixture = { name: `${attentionType} 16² in 2×2 patches`, model };
      const limit = 2 * 2 * 65 * 65 * 4 + 16;
      await checkAgainstEngine(fixture, REQUESTS.map((request) => ({ request })), {}, limit);
      // Kept on the GPU in parts; and the rollout's scratch in parts (nothing kept).
      await checkAgainstEngine(fixture, [{ request: maps }], { attentionBudgetBytes: 0, keptAttentionBytes: 2 ** 30 }, limit);
      await checkAgainstEngine(fixture, [{ request: maps }], { attentionBudgetBytes: 0, keptAttentionBytes: 0 }, limit);
    });
  }
});

/** The random bench configs at base width: base (8×224²), HR (16×448²), L (96×224²). */
const BASE = randomCheckpoint('base').config;
const HR: TimesformerConfig = { ...BASE, numFrames: 16, imageSize: 448 };
const L: TimesformerConfig = { ...BASE, numFrames: 96, imageSize: 224 };
const plain = (c: TimesformerConfig) => planBytes(c, c.numFrames, c.imageSize, c.imageSize, { attention: 'none', hiddenStates: false, returnInput: true });
const MiB = 2 ** 20;
const baseline: DeviceMemory = { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB };
const defaults = { planBudgetBytes: DEFAULT_PLAN_BUDGET_BYTES };

describe('memory plan at base width', () => {
  it("HR's and L's MLP rows are their largest buffers: 154 152 960 and 231 223 296 bytes", () => {
    expect(plain(HR).largest).toEqual({ label: 'mlp', bytes: (1 + 784 * 16) * 3072 * 4 });
    expect(plain(L).largest).toEqual({ label: 'mlp', bytes: (1 + 196 * 96) * 3072 * 4 });
    expect(weightBytes(BASE, 'f16').total).toBeLessThan(weightBytes(BASE, 'f32').total / 1.9);
  });

  it('fits base, HR and L on the baseline tier (qkv and the MLP rows bound in parts), and refuses what a binding cannot hold, in one line', () => {
    // HR's MLP rows (147 MiB) and L's qkv (165 MiB) and MLP rows (221 MiB) are over one 128 MiB binding, within one 256 MiB buffer.
    expect(plain(L).chunked).toEqual({ qkv: (1 + 196 * 96) * 3 * 768 * 4, mlp: (1 + 196 * 96) * 3072 * 4 });
    expect(fitMemory('TimeSformer-HR', HR, 'f32', baseline, defaults).refusal).toBeUndefined();
    expect(fitMemory('TimeSformer-L', L, 'f32', baseline, defaults).refusal).toBeUndefined();
    // 96 frames at 448²: the residual stream and the context rows (bound whole) are 221 MiB each.
    expect(fitMemory('HR, 96 frames', { ...HR, numFrames: 96 }, 'f32', baseline, defaults).refusal).toBe('HR, 96 frames needs a 221 MiB buffer (context); this GPU allows 128 MiB in one');
    // A buffer bound in parts must still be one buffer: L's 221 MiB of MLP rows on a 192 MiB buffer limit.
    expect(fitMemory('TimeSformer-L', L, 'f32', { ...baseline, maxBufferSize: 192 * MiB }, defaults).refusal).toBe('TimeSformer-L needs a 221 MiB buffer (mlp); this GPU allows 192 MiB in one');
    const base = fitMemory('base', BASE, 'f32', baseline, defaults);
    expect(base.refusal).toBeUndefined();
    expect([base.weights, base.planBudgetBytes]).toEqual(['f32', DEFAULT_PLAN_BUDGET_BYTES]);
  });

  it("plans HR's and L's maps on the baseline tier with their spatial probabilities in parts of whole sequences", () => {
    const maps = (c: TimesformerConfig, limits?: { binding: number; buffer: number }) =>
      planBytes(c, c.numFrames, c.imageSize, c.imageSize, { attention: 'maps', hiddenStates: false, returnInput: true }, undefined, limits);
    const tier = { binding: baseline.maxStorageBufferBindingSize, buffer: baseline.maxBufferSize };
    // The rollout's scratch for HR's 16 frames of 12 heads of 785² (473 MB) and L's 96 frames of 197² (179 MB):
    // four parts of 4 frames, and parts of 72 and 24 frames, each within one 128 MiB binding; the same bytes in all.
    expect(maps(HR).largestWhole).toEqual({ label: 'attention probabilities scratch', bytes: 16 * 12 * 785 * 785 * 4 });
    expect(maps(HR, tier).largestWhole).toEqual({ label: 'attention probabilities scratch part 0', bytes: 4 * 12 * 785 * 785 * 4 });
    expect(maps(L).largestWhole).toEqual({ label: 'attention probabilities scratch', bytes: 96 * 12 * 197 * 197 * 4 });
    expect(maps(L, tier).largestWhole).toEqual({ label: 'attention probabilities scratch part 0', bytes: 72 * 12 * 197 * 197 * 4 });
    for (const c of [HR, L]) expect(maps(c, tier).total).toBe(maps(c).total);
    // fitMemory plans the explorer's run too: refused where one frame's probabilities are over a binding.
    const narrow = { ...baseline, maxStorageBufferBindingSize: 16 * MiB };
    expect(fitMemory('TimeSformer-HR', { ...HR, numFrames: 1 }, 'f32', narrow, defaults).refusal).toBe('TimeSformer-HR needs a 28 MiB buffer (attn.0.spatial); this GPU allows 16 MiB in one');
  });

  it('within a memory budget: fewer kept plans, then no maps kept on the GPU, then f16 weights, else a refusal', () => {
    const roomy = { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 };
    const at = (budgetBytes: number) => fitMemory('TimeSformer-L', L, 'f32', { ...roomy, budgetBytes, budgetSource: 'a test' }, defaults);
    const w32 = weightBytes(L, 'f32').total + SCOPE_BYTES, w16 = weightBytes(L, 'f16').total + SCOPE_BYTES;
    const maps = (kept: number) => planBytes(L, 96, 224, 224, { attention: 'maps', hiddenStates: false, returnInput: true }, { readBytes: 64 * MiB, keptBytes: kept }).total;
    expect(at(8 * 2 ** 30)).toMatchObject({ weights: 'f32', planBudgetBytes: DEFAULT_PLAN_BUDGET_BYTES, keptAttentionBytes: 2 ** 30 });
    const fewerPlans = at(w32 + maps(2 ** 30) + 100 * MiB);
    expect(fewerPlans).toMatchObject({ weights: 'f32', planBudgetBytes: 100 * MiB, keptAttentionBytes: 2 ** 30 });
    expect(at(w32 + maps(0))).toMatchObject({ weights: 'f32', planBudgetBytes: 0, keptAttentionBytes: 0 });
    expect(at(w16 + maps(0))).toMatchObject({ weights: 'f16', planBudgetBytes: 0, keptAttentionBytes: 0 });
    const refused = at(w16 + maps(0) - 1);
    expect(refused.refusal).toBe(`TimeSformer-L needs ≈ ${((w16 + maps(0)) / 1e9).toFixed(1)} GB of GPU memory; this GPU allows ${((w16 + maps(0) - 1) / 1e9).toFixed(1)} GB (a test)`);
    expect(refused.refusal).toMatch(/^TimeSformer-L needs ≈ 1\.\d GB of GPU memory; this GPU allows 1\.\d GB \(a test\)$/);
  });

  it("reads a budget from navigator.deviceMemory below its cap, none at the cap or without it", async () => {
    const { device } = await testRuntime();
    expect(deviceMemory(device, undefined, 4)).toMatchObject({ budgetBytes: 2 * 2 ** 30, budgetSource: "half of this device's 4 GB" });
    expect(deviceMemory(device, undefined, 8).budgetBytes).toBeUndefined();
    expect(deviceMemory(device).budgetBytes).toBeUndefined();
    expect(deviceMemory(device).maxStorageBufferBindingSize).toBe(device.limits.maxStorageBufferBindingSize);
  });
});

describe('an explanation in the memory plan', () => {
  const explain = (c: TimesformerConfig) => planBytes(c, c.numFrames, c.imageSize, c.imageSize, { attention: 'none', hiddenStates: false, explain: [0], rollout: { discard: 0, fusions: ['mean'] } });

  it('base (8×224²) and HR (16×448²) at base width: the backward pass’s bytes, and what binds whole', () => {
    const base = explain(BASE), hr = explain(HR);
    // 13 checkpoints of the residual stream (1 + 196·8 rows of 768 floats) among them.
    expect(base.explanation).toBeGreaterThan(13 * 1569 * 768 * 4);
    // The backward binds qkv and the MLP rows whole: nothing is bound in parts, and HR's spatial probabilities
    // (16 frames × 12 heads × 785² floats) are its largest buffer.
    const alone = planBytes(HR, 16, 448, 448, { attention: 'none', hiddenStates: false, explain: [0] });
    expect([hr.chunked, alone.chunked]).toEqual([{}, {}]);
    expect(alone.largestWhole).toEqual({ label: 'spatial probabilities', bytes: 16 * 12 * 785 * 785 * 4 });
  });

  it('refuses in one line what does not fit: a buffer over a binding, or the total over a memory budget', () => {
    const request: RunRequest = { attention: 'none', hiddenStates: false, explain: [0] };
    // HR's spatial probabilities (451 MiB) are kept in parts; the MLP rows (147 MiB), bound whole by GELU's backward, are not.
    expect(explanationRefusal(HR, 16, 448, 448, request, 'f32', baseline, 0)).toBe('An explanation of 16 frames of 448×448 needs a 147 MiB buffer (mlp); this GPU allows 128 MiB in one');
    expect(explanationRefusal(BASE, 8, 224, 224, request, 'f32', baseline, 0)).toBeUndefined();
    const need = weightBytes(BASE, 'f32').total + SCOPE_BYTES + planBytes(BASE, 8, 224, 224, request).total;
    const budget = (budgetBytes: number) => ({ ...baseline, budgetBytes, budgetSource: 'a test' });
    expect(explanationRefusal(BASE, 8, 224, 224, request, 'f32', budget(need + 100), 0)).toBeUndefined();
    // The plans kept beside it count: they are dropped only after the new plan is recorded.
    expect(explanationRefusal(BASE, 8, 224, 224, request, 'f32', budget(need + 100), 101)).toBe(`An explanation of 8 frames of 224×224 needs ≈ ${((need + 101) / 1e9).toFixed(2)} GB of GPU memory; this GPU allows ${((need + 100) / 1e9).toFixed(2)} GB (a test)`);
  });

  it('the engine refuses an explanation over its memory budget before allocating anything, and goes on running', async () => {
    const { model, pixels } = await loadFixture('tiny-divided');
    const shape = pixels.shape as [number, number, number, number];
    const [T, , H, W] = shape;
    const request: RunRequest = { attention: 'none', hiddenStates: false, explain: [1] };
    const need = weightBytes(model.config, 'f32').total + SCOPE_BYTES + planBytes(model.config, T, H, W, request).total;
    const rt = (await testRuntime()).scope();
    const tight = await TimesformerEngine.create(rt, model, { ...FORCED, memoryBudget: { budgetBytes: need - 1, budgetSource: 'a test' } });
    const enough = await TimesformerEngine.create(rt, model, { ...FORCED, memoryBudget: { budgetBytes: need, budgetSource: 'a test' } });
    try {
      let refused: unknown;
      const bytes = await created(rt.device, () => tight.run(pixels.data, shape, request).catch((e) => (refused = e)));
      expect(refused).toBeInstanceOf(GpuMemoryError);
      expect((refused as Error).message).toBe(`An explanation of 4 frames of ${W}×${H} needs ≈ ${(need / 1e9).toFixed(2)} GB of GPU memory; this GPU allows ${((need - 1) / 1e9).toFixed(2)} GB (a test)`);
      expect(bytes).toBe(0);
      const plain = { attention: 'none', hiddenStates: false } as const;
      expect((await tight.run(pixels.data, shape, plain)).get('logits')!.data).toEqual((await enough.run(pixels.data, shape, plain)).get('logits')!.data);
      // With the plain plan kept beside it, the budget that fitted the explanation alone does not; alone again, it does.
      await expect(enough.run(pixels.data, shape, request)).rejects.toThrow(GpuMemoryError);
      const fresh = await TimesformerEngine.create(rt, model, { ...FORCED, memoryBudget: { budgetBytes: need, budgetSource: 'a test' } });
      expect((await fresh.run(pixels.data, shape, request)).get('relevance.class.1')).toBeDefined();
      fresh.destroy();
    } finally {
      tight.destroy();
      enough.destroy();
    }
  });
});
