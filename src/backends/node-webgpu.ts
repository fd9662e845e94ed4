// Node only: what onnxruntime-web's WebGPU EP and tfjs-backend-webgpu need to run on Dawn (npm `webgpu`),
// measured with webgpu 0.6.2, onnxruntime-web 1.30 and tfjs 4.22:
//  1. `navigator.gpu` — both libraries test for it before touching the device we hand them. Node 20 has no
//     `navigator` (Node 21+ has one, without `gpu`); we add a `gpu` whose `requestAdapter()` returns our
//     adapter. Both libraries are then given our device, so they never ask that adapter for another.
//  2. `GPUQueue.writeBuffer` — dawn.node crashes (SIGSEGV) on data backed by a SharedArrayBuffer (ORT's wasm heap is one
//     when it runs with threads): such data is copied into a plain buffer first. (We run ORT's WebGPU build
//     single-threaded in Node, so this is a guard, not a path the tests take.)
// The browser needs none of this. (ORT's WebGPU build also needs a V8 flag while it loads in Node: see
// `loadOrtWebGpu` in node.ts.)
import type { EngineDevice } from '../engine/device';

const patched = new WeakSet<GPUDevice>();

export function adaptDawnForLibraries(gpu: EngineDevice): void {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  if (!g.navigator!.gpu) {
    const fakeGpu = {
      requestAdapter: async () => gpu.gpuAdapter,
      getPreferredCanvasFormat: () => 'rgba8unorm',
      wgslLanguageFeatures: new Set<string>(),
    };
    Object.defineProperty(g.navigator, 'gpu', { value: fakeGpu, configurable: true });
  }

  const device = gpu.device;
  if (patched.has(device)) return;
  patched.add(device);

  const queue = device.queue;
  const writeBuffer = queue.writeBuffer.bind(queue);
  queue.writeBuffer = ((buffer: GPUBuffer, offset: number, data: BufferSource | SharedArrayBuffer, dataOffset?: number, size?: number) => {
    let plain = data;
    if (typeof SharedArrayBuffer !== 'undefined') {
      if (data instanceof SharedArrayBuffer) plain = new Uint8Array(data).slice().buffer;
      else if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
        // A typed array's slice() has the same element type on a new (unshared) ArrayBuffer, so dataOffset and
        // size keep their units (elements); a DataView is copied byte for byte.
        plain = data instanceof DataView ? new DataView(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice().buffer) : (data as Uint8Array).slice();
      }
    }
    return writeBuffer(buffer, offset, plain as BufferSource, dataOffset, size);
  }) as GPUQueue['writeBuffer'];
}
