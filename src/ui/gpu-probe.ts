// What WebGPU this page gets, shown before a model is loaded (the worker asks for its own adapter).
import type { GpuProbe } from '../store/ui-slice';

export async function probeGpu(): Promise<GpuProbe> {
  if (!navigator.gpu) return { kind: 'unavailable', reason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { kind: 'unavailable', reason: 'the browser found no usable GPU (requestAdapter returned null)' };
  // isFallbackAdapter moved from GPUAdapter to GPUAdapterInfo; read whichever this browser has.
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const legacy = adapter as GPUAdapter & { isFallbackAdapter?: boolean };
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'unnamed adapter';
  return { kind: 'available', adapter: name, fallback: Boolean(info.isFallbackAdapter ?? legacy.isFallbackAdapter) };
}
