// The device tiers: the adapter's own limits and features, or WebGPU's defaults and none ('baseline',
// `--baseline-device`, `?gpu=baseline`).
import { afterAll, describe, expect, it } from 'vitest';
import { deviceTierFrom, type EngineDevice } from '../../src/engine/device';
import { nodeEngineDevice } from '../../src/engine/node-gpu';

const made: EngineDevice[] = [];
afterAll(() => made.forEach((d) => d.device.destroy()));

describe('device tiers', () => {
  it("'baseline' gets WebGPU's default limits and no optional feature; 'adapter' the adapter's limits", async () => {
    const baseline = await nodeEngineDevice(undefined, 'baseline');
    const adapter = await nodeEngineDevice(undefined, 'adapter');
    made.push(baseline, adapter);
    const limits = baseline.device.limits;
    expect([limits.maxStorageBufferBindingSize, limits.maxBufferSize, limits.maxComputeWorkgroupStorageSize, limits.maxComputeInvocationsPerWorkgroup, limits.maxStorageBuffersPerShaderStage]).toEqual([
      128 * 2 ** 20, 256 * 2 ** 20, 16 * 2 ** 10, 256, 8,
    ]);
    // 'core-features-and-limits' is not optional: every core (non-compatibility) device has it.
    expect([...baseline.device.features].filter((f) => f !== 'core-features-and-limits')).toEqual([]);
    expect(baseline.features).toEqual({ shaderF16: false, subgroups: false, timestampQuery: false });
    expect(adapter.device.limits.maxStorageBufferBindingSize).toBe(adapter.gpuAdapter.limits.maxStorageBufferBindingSize);
    expect(adapter.features.timestampQuery).toBe(adapter.gpuAdapter.features.has('timestamp-query'));
  });

  it('reads the tier from a query string', () => {
    expect(deviceTierFrom('?gpu=baseline')).toBe('baseline');
    expect(deviceTierFrom('?model=x&gpu=baseline')).toBe('baseline');
    expect(deviceTierFrom('')).toBe('adapter');
    expect(deviceTierFrom('?gpu=fast')).toBe('adapter');
  });
});
