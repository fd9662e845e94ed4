import type { Page } from '@playwright/test';

// Helpers for browser tests that need WebGPU in the page.

export interface PageGpuInfo {
  /** False when navigator.gpu is missing (no WebGPU in this browser/flags). */
  available: boolean;
  /** Null when requestAdapter() resolved to null. */
  adapter: {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    isFallbackAdapter: boolean;
    /** Sorted feature names, e.g. 'subgroups', 'timestamp-query', 'shader-f16'. */
    features: string[];
    /** Every numeric adapter limit, by name. */
    limits: Record<string, number>;
  } | null;
  crossOriginIsolated: boolean;
}

/** Requests an adapter in the page and returns what it offers (info, features, limits). */
export async function pageGpuInfo(page: Page): Promise<PageGpuInfo> {
  return page.evaluate(async () => {
    const crossOriginIsolated = globalThis.crossOriginIsolated;
    if (!navigator.gpu) return { available: false, adapter: null, crossOriginIsolated };
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return { available: true, adapter: null, crossOriginIsolated };
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    const limits: Record<string, number> = {};
    // GPUSupportedLimits exposes its values as prototype getters: walk the prototype, not own keys.
    for (const key in adapter.limits) {
      const value = (adapter.limits as unknown as Record<string, unknown>)[key];
      if (typeof value === 'number') limits[key] = value;
    }
    return {
      available: true,
      adapter: {
        vendor: info.vendor,
        architecture: info.architecture,
        device: info.device,
        description: info.description,
        isFallbackAdapter: Boolean(info.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter),
        features: [...adapter.features].sort(),
        limits,
      },
      crossOriginIsolated,
    };
  });
}
