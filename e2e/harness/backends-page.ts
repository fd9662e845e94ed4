// The comparison backends (src/backends/) in a real page: the browser side of e2e/backends.spec.ts. Exposes
// `window.backends`. One GPUDevice (one Runtime) for the page, shared by our engine, onnxruntime-web's WebGPU EP
// and tfjs-backend-webgpu; backends are made by src/backends/browser.ts, as the app's worker makes them.
import type { ClipShape } from '../../src/backends/backend';
import { createBrowserBackend, wasmThreads } from '../../src/backends/browser';
import { BACKEND_CATALOG, type BackendName } from '../../src/backends/registry';
import { loadModel } from '../../src/checkpoint/load';
import { readSafetensors } from '../../src/checkpoint/safetensors';
import { urlSource } from '../../src/checkpoint/source';
import { toFloat32 } from '../../src/checkpoint/tensor';
import { requestEngineDevice } from '../../src/engine/device';
import { Runtime } from '../../src/engine/runtime';
import { compareOutputs, verdict, WGSL_TOLERANCES, type Comparison } from '../../src/verify/compare';

let runtime: Promise<Runtime> | undefined;
const gpu = () => {
  if (!navigator.gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
  return (runtime ??= requestEngineDevice(navigator.gpu, (reason) => console.log(reason)).then((device) => new Runtime(device)));
};

async function fetchBytes(url: string): Promise<Uint8Array | undefined> {
  const response = await fetch(url);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

export interface BackendVerifyResult {
  backend: BackendName;
  results: Comparison[];
  verdict: string;
  /** Session creation / weight upload, then the first run (shader compilation included). */
  setupMs: number;
  firstRunMs: number;
  wasmThreads: number;
}

/**
 * Run one backend on a fixture's clip and compare with its expected outputs: logits for ORT (an ONNX export
 * has nothing else), everything for tfjs.
 */
async function verify(name: BackendName, fixtureUrl: string): Promise<BackendVerifyResult> {
  const expectedBytes = await fetchBytes(`${fixtureUrl}/expected.safetensors`);
  if (!expectedBytes) throw new Error(`no ${fixtureUrl}/expected.safetensors`);
  const expected = readSafetensors(expectedBytes, 'expected.safetensors');
  const pv = expected.get('pixel_values');
  if (!pv || pv.shape.length !== 5) throw new Error(`${fixtureUrl}/expected.safetensors has no pixel_values [1, T, 3, H, W]`);
  const isOnnx = BACKEND_CATALOG[name].needs === 'onnx';
  const onnx = isOnnx ? await fetchBytes(`${fixtureUrl}/model.onnx`) : undefined;
  if (isOnnx && !onnx) throw new Error(`no ${fixtureUrl}/model.onnx`);
  const model = isOnnx ? undefined : await loadModel(urlSource(`${fixtureUrl}/model`));

  const t0 = performance.now();
  const backend = await createBrowserBackend(name, { onnx, model, gpu: await gpu() });
  const setupMs = performance.now() - t0;
  try {
    const t1 = performance.now();
    const outputs = await backend.run(toFloat32(pv), pv.shape.slice(1) as ClipShape, { hiddenStates: true, attention: true });
    const firstRunMs = performance.now() - t1;
    const compared = isOnnx ? new Map([['logits', expected.get('logits')!]]) : expected;
    const results = compareOutputs(outputs, compared, WGSL_TOLERANCES);
    return { backend: name, results, verdict: verdict(results), setupMs, firstRunMs, wasmThreads: wasmThreads() };
  } finally {
    await backend.dispose();
  }
}

declare global {
  interface Window {
    backends: { verify: typeof verify };
  }
}
window.backends = { verify };
