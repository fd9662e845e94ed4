// The worker's inference service in Node (Dawn): a GPU error outside any run reaches its events as a GPU error,
// a request before any model is loaded says so (a model error, not a GPU failure), and the attention a 'maps'
// run kept on the GPU is read by its token until another run on that engine replaces it; our engine's kernels are
// tuned while a checkpoint's weights are read.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createWgslBackend } from '../../src/backends/wgsl';
import { nodeEngineDevice } from '../../src/engine/node-gpu';
import { parseConfig } from '../../src/checkpoint/config';
import { tuneReport } from '../../src/engine/autotune';
import { ATTENTION_TUNING } from '../../src/engine/kernels/attention';
import { GEMM_TUNING } from '../../src/engine/kernels/gemm';
import { LAYER_NORM_TUNING } from '../../src/engine/kernels/layernorm';
import { modelShapes } from '../../src/model/kernel-shapes';
import { InferenceService, NoModelError } from '../../src/worker/service';
import { toFloat32 } from '../../src/checkpoint/tensor';
import { loadFixture } from '../fixtures';
import { maxAbsDiff } from '../gpu';

/** Once per file: a second Dawn GPU object would let the first, and the devices made from it, be collected. */
async function dawnNavigator() {
  if ((globalThis.navigator as { gpu?: GPU } | undefined)?.gpu) return;
  (await nodeEngineDevice()).device.destroy(); // sets up Dawn's globals and its Vulkan driver
  const { create } = await import('webgpu');
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
}

describe('InferenceService', () => {
  const events = { gpuErrors: [] as string[], lost: [] as string[] };
  const service = new InferenceService({ gpuError: (m) => events.gpuErrors.push(m), deviceLost: (m) => events.lost.push(m) });
  afterAll(async () => (await service.device()).device.device.destroy());

  it('reports an uncaptured GPU error (one no run caught) as a GPU error', async () => {
    await dawnNavigator();
    const { device } = (await service.device()).device;
    // Invalid outside any error scope: WebGPU can only report it as uncapturederror.
    device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    await device.queue.onSubmittedWorkDone();
    await expect.poll(() => events.gpuErrors.length).toBe(1);
    expect(events.gpuErrors[0]).toMatch(/^GPU error: .*MapRead/);
    expect(events.lost).toEqual([]);
  });

  it("asks for WebGPU's default limits and no optional feature when the client names the baseline tier (?gpu=baseline)", async () => {
    await dawnNavigator();
    const baseline = new InferenceService({ gpuError: () => {}, deviceLost: () => {} });
    baseline.deviceTier = 'baseline';
    const { device } = await baseline.device();
    try {
      expect(device.device.limits.maxStorageBufferBindingSize).toBe(128 * 2 ** 20);
      expect(device.features).toEqual({ shaderF16: false, subgroups: false, timestampQuery: false });
    } finally {
      device.device.destroy();
    }
  });

  it('a classification before any model is loaded fails with NoModelError, and the service stays usable', async () => {
    const scheduling = { purpose: 'classify', priority: 'user' as const };
    const options = { views: 'single' as const, attention: false, sampling: 'auto' as const };
    await expect(service.classify(new Blob(['x']), options, scheduling, () => {})).rejects.toBeInstanceOf(NoModelError);
    await expect(service.timeline(new Blob(['x']), 4, { purpose: 'timeline', priority: 'background' }, () => {}, () => {})).rejects.toThrow(/no model is loaded/);
    expect(service.scheduler.tasks).toEqual([]);
  });

  it("reads slices of the attention a 'maps' run kept by its token, and refuses a stale token once another clip ran", async () => {
    const { model, pixels } = await loadFixture('tiny-divided');
    // A budget that fits the temporal mean only (as test/attention/attention-budget.test.ts): the heads stay on the GPU.
    const backend = await createWgslBackend(await service.runtime(), model, { attentionBudgetBytes: 1248 + 3996 + 40 + 864 + 100 });
    try {
      const T = 3, Hpx = 48, Wpx = 64, H = 4;
      const data = pixels.data.slice(0, T * 3 * 64 * 64).filter((_, i) => Math.floor(i / 64) % 64 < Hpx);
      const scheduling = { purpose: 'test-clip', priority: 'user' as const };
      const run = (attention: 'maps' | false) => service.scheduler.submit(scheduling, (task) => service.runClip(task, backend, data, [T, 3, Hpx, Wpx], { attention }));
      const slices = [{ name: 'attn.0.temporal', offset: 5 * H * T * T, count: H * T * T }];
      const slicing = { purpose: 'attention-slices', priority: 'user' as const };

      const first = await run('maps');
      const token = service.keptAttentionToken(backend)!;
      expect(token).toBeGreaterThan(0);
      const [temporal] = await service.readAttention(token, slices, slicing);
      // Patch 5's heads average to the mean that came back.
      const mean = first.get('attn.0.temporal.mean')!.data.slice(5 * T * T, 6 * T * T);
      const averaged = mean.map((_, i) => (temporal[i] + temporal[T * T + i] + temporal[2 * T * T + i] + temporal[3 * T * T + i]) / H);
      averaged.forEach((v, i) => expect(v).toBeCloseTo(mean[i], 5));

      await run('maps');
      const second = service.keptAttentionToken(backend)!;
      expect(second).not.toBe(token);
      const stale = /this clip's attention is no longer on the GPU: another clip ran since — run it again to explore it/;
      await expect(service.readAttention(token, slices, slicing)).rejects.toThrow(stale);
      expect(await service.readAttention(second, slices, slicing)).toHaveLength(1);
      await run(false);
      expect(service.keptAttentionToken(backend)).toBeUndefined();
      await expect(service.readAttention(second, slices, slicing)).rejects.toThrow(stale);
    } finally {
      await backend.dispose();
    }
  });

  it("tunes our engine's kernels from the config while the weights are read: every class of the model, before they arrive", async () => {
    const dir = 'fixtures/timesformer/tiny-divided/model';
    const loader = new InferenceService({ gpuError: () => {}, deviceLost: () => {} });
    const { runtime } = await loader.device();
    const shapes = modelShapes(parseConfig(readFileSync(`${dir}/config.json`, 'utf8')), 'f32');
    const classes = [...shapes.gemm.map(GEMM_TUNING.shapeClass), ...shapes.attention.map(ATTENTION_TUNING.shapeClass), ...shapes.layerNorm.map(LAYER_NORM_TUNING.shapeClass)];
    // A slow disk (injected: the read waits): the weights arrive only once the tuner has picked every class, which
    // it can only have done from config.json.
    class SlowFile extends File {
      override async arrayBuffer() {
        await vi.waitFor(() => expect(Object.keys(tuneReport(runtime).picks)).toEqual(expect.arrayContaining(classes)), { timeout: 60_000, interval: 50 });
        return super.arrayBuffer();
      }
    }
    const files = [new File([readFileSync(`${dir}/config.json`)], 'config.json'), new SlowFile([readFileSync(`${dir}/model.safetensors`)], 'model.safetensors')];
    try {
      const info = await loader.load({ kind: 'files', id: 'tiny-divided', files }, 'wgsl', undefined, () => {});
      expect(info.load!.tunedWhileReadingMs).toBeGreaterThan(0);
    } finally {
      runtime.gpu.device.destroy();
    }
  });

  it('refuses a model whose planned memory does not fit in one line, before reading its weights or allocating anything; the loaded model stays and runs', async () => {
    const dir = 'fixtures/timesformer/tiny-divided/model';
    const config = readFileSync(`${dir}/config.json`, 'utf8');
    await dawnNavigator();
    const loader = new InferenceService({ gpuError: () => {}, deviceLost: () => {} });
    const { runtime } = await loader.device();
    const { device } = runtime;
    try {
      await loader.load({ kind: 'files', id: 'tiny-divided', files: [new File([config], 'config.json'), new File([readFileSync(`${dir}/model.safetensors`)], 'model.safetensors')] }, 'wgsl', undefined, () => {});
      // TimeSformer-HR's shapes at base width, on a device whose browser reports 0.5 GB (a budget of half that).
      const hr = { ...JSON.parse(config), hidden_size: 768, num_attention_heads: 12, intermediate_size: 3072, num_hidden_layers: 12, image_size: 448, num_frames: 16 };
      class UnreadFile extends File {
        override async arrayBuffer(): Promise<ArrayBuffer> {
          throw new Error('the weights were read');
        }
      }
      const files = [new File([JSON.stringify(hr)], 'config.json'), new UnreadFile([], 'model.safetensors')];
      Object.assign(navigator, { deviceMemory: 0.5 });
      const create = device.createBuffer.bind(device);
      let created = 0;
      device.createBuffer = (d) => (created++, create(d));
      try {
        await expect(loader.load({ kind: 'files', id: 'TimeSformer-HR', files }, 'wgsl', undefined, () => {})).rejects.toThrow(
          /^TimeSformer-HR needs ≈ \d\.\d GB of GPU memory; this GPU allows 0\.27 GB \(half of this device's 0\.5 GB\)$/,
        );
      } finally {
        device.createBuffer = create;
        delete (navigator as { deviceMemory?: number }).deviceMemory;
      }
      expect(created).toBe(0);
      // The model loaded before still answers, as the fixture's reference does.
      const { pixels, expected } = await loadFixture('tiny-divided');
      const logits = await loader.scheduler.submit({ purpose: 'test-clip', priority: 'user' }, async (task) => {
        const { backend } = await loader.use(task);
        return (await loader.runClip(task, backend, pixels.data, pixels.shape as [number, number, number, number], {})).get('logits')!;
      });
      expect(maxAbsDiff(logits.data, toFloat32(expected.get('logits')!))).toBeLessThan(1e-4);
    } finally {
      device.destroy();
    }
  });
});
