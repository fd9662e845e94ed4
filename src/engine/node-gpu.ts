// A WebGPU device in Node through Dawn (npm `webgpu`): for the CLI, the benchmarks and the tests.
// Without a GPU, Dawn needs a Vulkan driver: Chromium's SwiftShader works everywhere Chromium is installed.
import { existsSync } from 'node:fs';
import { requestEngineDevice, type DeviceTier, type EngineDevice } from './device';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Dawn's GPU object: kept for the life of the process, as collecting it destroys its adapters. */
let dawn: GPU | undefined;

export async function nodeEngineDevice(onLost?: (reason: string) => void, tier: DeviceTier = 'adapter'): Promise<EngineDevice> {
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && process.env.TIMESFORMER_GPU !== 'system' && existsSync(SWIFTSHADER_ICD)) {
    // No GPU driver named: use SwiftShader unless asked for the system's drivers (TIMESFORMER_GPU=system).
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  // Timestamps at full resolution: Dawn rounds them to 65.5 µs by default, longer than most kernels of a
  // view on a real GPU (the benchmark's per-kernel profile).
  dawn ??= create(['disable-dawn-features=timestamp_quantization']);
  return requestEngineDevice(dawn, onLost, tier);
}
