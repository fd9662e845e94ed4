import { expect, test } from '@playwright/test';

// The next stage uploads decoded VideoFrames with device.importExternalTexture. On SwiftShader this only
// works with the Vulkan flags in playwright.config.ts (and Mesa's lavapipe installed): this test says
// at once when the browser setup lost that ability.

test('a VideoFrame imports into WebGPU (importExternalTexture) with the right pixels', async ({ page }) => {
  await page.goto('/');
  const result = await page.evaluate(async () => {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) throw new Error('no WebGPU adapter');
    const device = await adapter.requestDevice();
    try {
      // 64×48: left half blue, right half red.
      const canvas = new OffscreenCanvas(64, 48);
      const ctx = canvas.getContext('2d')!;
      ctx.fillStyle = 'rgb(255, 0, 0)';
      ctx.fillRect(0, 0, 64, 48);
      ctx.fillStyle = 'rgb(0, 0, 255)';
      ctx.fillRect(0, 0, 32, 48);
      const frame = new VideoFrame(canvas, { timestamp: 0 });

      const module = device.createShaderModule({
        code: /* wgsl */ `
          @group(0) @binding(0) var frame: texture_external;
          @group(0) @binding(1) var<storage, read_write> out: array<vec4f, 2>;
          @compute @workgroup_size(1) fn main() {
            out[0] = textureLoad(frame, vec2u(5u, 5u));
            out[1] = textureLoad(frame, vec2u(50u, 5u));
          }`,
      });
      const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      const storage = device.createBuffer({ size: 32, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      const readback = device.createBuffer({ size: 32, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });

      device.pushErrorScope('validation');
      const texture = device.importExternalTexture({ source: frame });
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: texture },
          { binding: 1, resource: { buffer: storage } },
        ],
      });
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(1);
      pass.end();
      encoder.copyBufferToBuffer(storage, 0, readback, 0, 32);
      device.queue.submit([encoder.finish()]);
      const error = await device.popErrorScope();
      frame.close();

      await readback.mapAsync(GPUMapMode.READ);
      const pixels = Array.from(new Float32Array(readback.getMappedRange()), (v) => Math.round(v * 100) / 100);
      readback.unmap();
      return { error: error?.message ?? null, left: pixels.slice(0, 4), right: pixels.slice(4, 8) };
    } finally {
      device.destroy();
    }
  });
  expect(result.error).toBeNull();
  expect(result.left).toEqual([0, 0, 1, 1]);
  expect(result.right).toEqual([1, 0, 0, 1]);
});
