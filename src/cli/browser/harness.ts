// The engine and the backends in a real browser page, driven by Playwright: the browser side of
// `verify --browser` and `bench --browser`. Exposes `window.harness`. One GPUDevice (one Runtime) for the page.
import { benchInPage, type PageBenchOptions, type PageBenchReport } from '../../bench/page-bench';
import { loadModel } from '../../checkpoint/load';
import { readSafetensors } from '../../checkpoint/safetensors';
import { urlSource } from '../../checkpoint/source';
import { toFloat32 } from '../../checkpoint/tensor';
import { deviceTierFrom, requestEngineDevice, type EngineDevice } from '../../engine/device';
import { Runtime } from '../../engine/runtime';
import { TimesformerEngine } from '../../engine/timesformer';
import { compareOutputs, explainedClasses, verdict, WGSL_TOLERANCES, type Comparison } from '../../verify/compare';

export interface BrowserVerifyResult {
  adapter: EngineDevice['adapter'];
  /** The device's largest storage binding (128 MiB on a baseline device). */
  maxBindingBytes: number;
  gemmVariant: string;
  results: Comparison[];
  verdict: string;
}

let runtime: Promise<Runtime> | undefined;
const gpu = () => {
  if (!navigator.gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
  // `?gpu=baseline`: WebGPU's default limits and no optional features (--baseline-device).
  return (runtime ??= requestEngineDevice(navigator.gpu, undefined, deviceTierFrom(location.search)).then((device) => new Runtime(device)));
};

/** Load a model folder and an expected file by URL, run the engine on its clip, compare everything. */
async function verify(modelUrl: string, expectedUrl: string, tolerance?: number): Promise<BrowserVerifyResult> {
  const model = await loadModel(urlSource(modelUrl));
  const response = await fetch(expectedUrl);
  if (!response.ok) throw new Error(`fetching ${expectedUrl}: HTTP ${response.status}`);
  const expected = readSafetensors(new Uint8Array(await response.arrayBuffer()), expectedUrl);
  const pv = expected.get('pixel_values');
  if (!pv || pv.shape.length !== 5) throw new Error(`${expectedUrl} has no pixel_values [1, T, 3, H, W]`);
  const rt = await gpu();
  const engine = await TimesformerEngine.create(rt, model);
  try {
    const rollout = [...expected.keys()].some((name) => name.startsWith('rollout.')) ? { discard: 0 } : undefined;
    const explain = explainedClasses(expected.keys());
    const outputs = await engine.run(toFloat32(pv), pv.shape.slice(1) as [number, number, number, number], { attention: 'all', hiddenStates: true, rollout, explain });
    const results = compareOutputs(outputs, expected, tolerance === undefined ? WGSL_TOLERANCES : { ...WGSL_TOLERANCES, uniform: tolerance });
    return { adapter: rt.gpu.adapter, maxBindingBytes: rt.device.limits.maxStorageBufferBindingSize, gemmVariant: engine.gemmVariant, results, verdict: verdict(results) };
  } finally {
    engine.destroy();
  }
}

async function bench(options: Omit<PageBenchOptions, 'log'>): Promise<PageBenchReport> {
  return benchInPage(await gpu(), { ...options, log: (line) => console.log(line) });
}

declare global {
  interface Window {
    harness: { verify: typeof verify; bench: typeof bench };
  }
}
window.harness = { verify, bench };
