// The worker's inference service in Node (Dawn): a GPU error outside any run reaches its events as a GPU error,
// and a request before any model is loaded says so (a model error, not a GPU failure).
import { afterAll, describe, expect, it } from 'vitest';
import { nodeEngineDevice } from '../../src/engine/node-gpu';
import { InferenceService, NoModelError } from '../../src/worker/service';

async function dawnNavigator() {
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

  it('a classification before any model is loaded fails with NoModelError, and the service stays usable', async () => {
    const scheduling = { purpose: 'classify', priority: 'user' as const };
    const options = { views: 'single' as const, attention: false, sampling: 'auto' as const };
    await expect(service.classify(new Blob(['x']), options, scheduling, () => {})).rejects.toBeInstanceOf(NoModelError);
    await expect(service.timeline(new Blob(['x']), 4, { purpose: 'timeline', priority: 'background' }, () => {}, () => {})).rejects.toThrow(/no model is loaded/);
    expect(service.scheduler.tasks).toEqual([]);
  });
});
