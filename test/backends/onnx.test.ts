// onnxruntime-web in Node on the fixtures' ONNX exports (torch.onnx, opset 17): the wasm EP on every
// fixture that has one, the WebGPU EP on Dawn once (it compiles ~27 shaders on SwiftShader: ~10 s).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackendError, type ClipShape, type InferenceBackend } from '../../src/backends/backend';
import { createNodeBackend, findOnnxFile } from '../../src/backends/node';
import { adaptDawnForLibraries } from '../../src/backends/node-webgpu';
import { createOnnxBackend, MAX_ONNX_FILE_BYTES } from '../../src/backends/onnx';
import { compareOutputs, WGSL_TOLERANCES } from '../../src/verify/compare';
import { FIXTURES, loadFixture, modelDir, type FixtureName } from '../fixtures';
import { testDevice } from '../gpu';

const WITH_ONNX: FixtureName[] = ['tiny-divided', 'tiny-space_only', 'tiny-joint_space_time', 'small-divided'];
const onnxBytes = (name: FixtureName) => new Uint8Array(readFileSync(join(FIXTURES, name, 'model.onnx')));

/** Only logits: an ONNX export returns nothing else. Tolerance 1e-4 absolute, as for every backend. */
async function checkLogits(backend: InferenceBackend, name: FixtureName) {
  const { expected, pixels } = await loadFixture(name);
  const outputs = await backend.run(pixels.data, pixels.shape as ClipShape);
  expect([...outputs.keys()]).toEqual(['logits']);
  const results = compareOutputs(outputs, new Map([['logits', expected.get('logits')!]]), WGSL_TOLERANCES);
  expect(results.filter((r) => !r.pass)).toEqual([]);
  return results[0].maxAbsError;
}

describe('onnx-wasm matches the reference logits', () => {
  for (const name of WITH_ONNX) {
    it(name, async () => {
      const backend = await createOnnxBackend(onnxBytes(name), { ep: 'wasm' });
      try {
        expect(backend.name).toBe('onnx-wasm');
        expect(await checkLogits(backend, name)).toBeLessThan(1e-4);
        // A second run on the same session gives the same logits.
        const { pixels } = await loadFixture(name);
        const [a, b] = await Promise.all([backend.run(pixels.data, pixels.shape as ClipShape), backend.run(pixels.data, pixels.shape as ClipShape)]);
        expect(a.get('logits')!.data).toEqual(b.get('logits')!.data);
      } finally {
        await backend.dispose();
      }
    });
  }
});

describe('onnx-webgpu on Dawn (Node)', () => {
  it('matches the reference logits on tiny-divided, sharing our device', async () => {
    const gpu = await testDevice();
    const backend = await createNodeBackend('onnx-webgpu', { onnxPath: findOnnxFile(modelDir('tiny-divided'))!, gpu });
    try {
      expect(backend.name).toBe('onnx-webgpu');
      expect(await checkLogits(backend, 'tiny-divided')).toBeLessThan(1e-4);
    } finally {
      await backend.dispose();
    }
    // ORT leaves a device it was given alive.
    expect(() => gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE }).destroy()).not.toThrow();
  }, 300_000);
});

describe('onnx backend errors', () => {
  it('finds the ONNX file in or beside the model folder', () => {
    expect(findOnnxFile(modelDir('tiny-divided'))).toBe(join(FIXTURES, 'tiny-divided', 'model.onnx'));
    expect(findOnnxFile(join(FIXTURES, 'tiny-divided'))).toBe(join(FIXTURES, 'tiny-divided', 'model.onnx'));
    expect(findOnnxFile(modelDir('base1-divided-fp16'))).toBeUndefined();
  });

  it('refuses empty, oversized and broken files with a BackendError', async () => {
    await expect(createOnnxBackend(new Uint8Array(0), { ep: 'wasm' })).rejects.toThrow(/onnx-wasm: the ONNX model is empty/);
    const huge = { byteLength: MAX_ONNX_FILE_BYTES + 1 } as Uint8Array;
    Object.setPrototypeOf(huge, Uint8Array.prototype);
    await expect(createOnnxBackend(huge, { ep: 'wasm' })).rejects.toThrow(/is 2147483648 bytes, over protobuf's 2 GiB limit/);
    const garbage = new TextEncoder().encode('this is not a protobuf');
    const error = await createOnnxBackend(garbage, { ep: 'wasm' }).catch((e) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error.message).toMatch(/^onnx-wasm: could not create a session from the ONNX model/);
    await expect(createOnnxBackend(onnxBytes('tiny-divided'), { ep: 'wasm', numThreads: 0 })).rejects.toThrow(/numThreads must be a positive integer/);
    await expect(createOnnxBackend(onnxBytes('tiny-divided'), { ep: 'cuda' as 'wasm' })).rejects.toThrow(/ep must be 'wasm' or 'webgpu'/);
  });

  it('checks the clip against the exported input shape, and refuses runs after dispose', async () => {
    const backend = await createOnnxBackend(onnxBytes('tiny-divided'), { ep: 'wasm' });
    await expect(backend.run(new Float32Array(2 * 3 * 64 * 64), [2, 3, 64, 64])).rejects.toThrow(/exported for pixel_values \[1,4,3,64,64\], not \[1,2,3,64,64\]/);
    await expect(backend.run(new Float32Array(10), [4, 3, 64, 64])).rejects.toThrow(/Float32Array of 49152 values/);
    await expect(backend.run(new Float32Array(4 * 64 * 64), [4, 1, 64, 64])).rejects.toThrow(/3 channels/);
    await backend.dispose();
    await expect(backend.run(new Float32Array(4 * 3 * 64 * 64), [4, 3, 64, 64])).rejects.toThrow(/disposed/);
    await backend.dispose(); // twice is fine
  });
});

describe('Dawn adaptations (Node)', () => {
  it('copies SharedArrayBuffer-backed data before GPUQueue.writeBuffer, keeping element offsets', async () => {
    const gpu = await testDevice();
    adaptDawnForLibraries(gpu);
    expect((globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu).toBeDefined();
    const shared = new Float32Array(new SharedArrayBuffer(64));
    shared.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const buffer = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    const read = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    gpu.device.queue.writeBuffer(buffer, 0, shared as unknown as Float32Array<ArrayBuffer>, 2, 4); // elements 2..5
    const encoder = gpu.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, read, 0, 16);
    gpu.device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    expect([...new Float32Array(read.getMappedRange())]).toEqual([3, 4, 5, 6]);
    read.destroy();
    buffer.destroy();
  });
});
