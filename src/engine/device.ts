// Getting a GPUDevice with what the model needs, in a browser, a worker or Node (Dawn).

export class GpuError extends Error {
  override name = 'GpuError';
}

/** Work refused before anything was allocated because its planned GPU memory does not fit (memory-plan.ts): the GPU is fine. */
export class GpuMemoryError extends GpuError {
  override name = 'GpuMemoryError';
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (SwiftShader, lavapipe): changes which kernels are fastest. */
  isFallback: boolean;
}

export interface EngineDevice {
  device: GPUDevice;
  /** Held so that it lives as long as the device: Dawn in Node crashes if the adapter is collected first. */
  gpuAdapter: GPUAdapter;
  adapter: AdapterDescription;
  features: { shaderF16: boolean; subgroups: boolean; timestampQuery: boolean };
}

/**
 * What a kernel variant needs of the device beyond any compute shader: its workgroup memory, invocations per
 * workgroup and features. WebGPU's baseline grants 16 KiB, 256 and none; the autotuner offers a variant only
 * where the device grants what it declares (test/engine/kernel-needs.test.ts reads the same off its WGSL).
 */
export interface KernelNeeds {
  workgroupBytes: number;
  invocations: number;
  features?: readonly GPUFeatureName[];
}

/** Whether `gpu`'s device grants what a kernel variant needs. */
export function grants(gpu: EngineDevice, needs: KernelNeeds): boolean {
  const limits = gpu.device.limits;
  return needs.workgroupBytes <= limits.maxComputeWorkgroupStorageSize && needs.invocations <= limits.maxComputeInvocationsPerWorkgroup && (needs.features ?? []).every((f) => gpu.device.features.has(f));
}

/** Limits we raise to what the adapter offers: the defaults (128 MiB bindings, 16 KiB workgroup memory) are too small for TimeSformer-base. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

export function describeAdapter(adapter: GPUAdapter): AdapterDescription {
  const info = adapter.info;
  const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallback: fallback || /swiftshader|llvmpipe|lavapipe|cpu/.test(text),
  };
}

/**
 * Which device to ask for: 'adapter' raises the limits to what the adapter offers and asks for the optional
 * features we use; 'baseline' takes WebGPU's default limits and no optional feature — the tier every adapter
 * grants (and what a page gets that asks for nothing), to check that a model runs there.
 */
export type DeviceTier = 'adapter' | 'baseline';

/** The tier a page or a command line names (`?gpu=baseline`, `--baseline-device`): anything else is the adapter's. */
export const deviceTierFrom = (query: string): DeviceTier => (new URLSearchParams(query).get('gpu') === 'baseline' ? 'baseline' : 'adapter');

/**
 * Ask `gpu` for an adapter and a device with the adapter's own limits and the optional features we use (or,
 * for `tier` 'baseline', WebGPU's defaults and none).
 * `onLost` hears about a lost device (driver reset, tab in background too long, `destroy()`).
 */
export async function requestEngineDevice(gpu: GPU, onLost?: (reason: string) => void, tier: DeviceTier = 'adapter'): Promise<EngineDevice> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new GpuError('WebGPU is available but no GPU adapter was found');
  const wanted: GPUFeatureName[] = tier === 'baseline' ? [] : ['shader-f16', 'subgroups', 'timestamp-query'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  if (tier === 'adapter') for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  device.lost.then((info) => {
    if (info.reason !== 'destroyed') onLost?.(`GPU device lost: ${info.message || info.reason}`);
  });
  return {
    device,
    gpuAdapter: adapter,
    adapter: describeAdapter(adapter),
    features: {
      shaderF16: device.features.has('shader-f16'),
      subgroups: device.features.has('subgroups'),
      timestampQuery: device.features.has('timestamp-query'),
    },
  };
}
