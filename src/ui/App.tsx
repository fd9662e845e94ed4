import { useEffect, useState } from 'react';

// Placeholder: shows whether this browser exposes WebGPU and which adapter it gives. The real UI comes later.

type GpuStatus =
  | { kind: 'checking' }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'available'; adapter: GPUAdapterInfo; isFallback: boolean };

async function probeGpu(): Promise<GpuStatus> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    return { kind: 'unavailable', reason: 'navigator.gpu is missing: this browser has no WebGPU' };
  }
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { kind: 'unavailable', reason: 'navigator.gpu.requestAdapter() returned null' };
  // isFallbackAdapter moved from GPUAdapter to GPUAdapterInfo; read whichever this browser has.
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const legacy = adapter as GPUAdapter & { isFallbackAdapter?: boolean };
  return { kind: 'available', adapter: info, isFallback: Boolean(info.isFallbackAdapter ?? legacy.isFallbackAdapter) };
}

function describe(status: GpuStatus): string {
  switch (status.kind) {
    case 'checking':
      return 'WebGPU: checking…';
    case 'unavailable':
      return `WebGPU: not available (${status.reason})`;
    case 'available': {
      const { vendor, architecture, device, description } = status.adapter;
      const name = [vendor, architecture, device, description].filter(Boolean).join(' / ') || 'unnamed adapter';
      return `WebGPU: available — ${name}${status.isFallback ? ' (fallback adapter)' : ''}`;
    }
  }
}

export function App() {
  const [gpu, setGpu] = useState<GpuStatus>({ kind: 'checking' });

  useEffect(() => {
    let live = true;
    probeGpu()
      .catch((e: unknown): GpuStatus => ({ kind: 'unavailable', reason: String(e) }))
      .then((s) => live && setGpu(s));
    return () => {
      live = false;
    };
  }, []);

  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', margin: '2rem' }}>
      <h1>TimeSformer WebGPU</h1>
      <p data-testid="gpu-status" data-state={gpu.kind}>
        {describe(gpu)}
      </p>
    </main>
  );
}
