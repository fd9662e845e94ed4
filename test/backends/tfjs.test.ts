// The TensorFlow.js forward pass against the Hugging Face fixtures: logits, every hidden state and every
// attention probability, at the WGSL engine's tolerances. tfjs-cpu on every fixture; tfjs-webgpu on Dawn
// (SwiftShader) on tiny-divided. Measured max errors (tfjs-cpu): logits ≤ 2e-6, attention ≤ 3e-6,
// hidden states ≤ 1e-6 × max|ref| — float32 accumulation throughout, well inside the tolerances.
import { describe, expect, it } from 'vitest';
import { BackendError, SerialQueue, type ClipShape } from '../../src/backends/backend';
import { createNodeBackend } from '../../src/backends/node';
import { createTfjsBackend } from '../../src/backends/tfjs';
import { forwardReference } from '../../src/reference/timesformer';
import { compareOutputs, WGSL_TOLERANCES } from '../../src/verify/compare';
import { FIXTURE_NAMES, loadFixture } from '../fixtures';
import { maxAbsDiff, testDevice } from '../gpu';

/** Every output the fixture holds was compared, and passed. */
function expectAllPass(outputs: Parameters<typeof compareOutputs>[0], expected: Parameters<typeof compareOutputs>[1]) {
  const results = compareOutputs(outputs, expected, WGSL_TOLERANCES);
  expect(results.filter((r) => !r.pass)).toEqual([]);
  const names = [...expected.keys()].filter((k) => !/^(pixel_values|video_u8|hf_attentions\.)/.test(k));
  expect(results.map((r) => r.name).sort()).toEqual(names.sort());
}

describe('tfjs-cpu matches the reference fixtures (logits, hidden states, attention)', () => {
  for (const name of FIXTURE_NAMES) {
    // base1 is one TimeSformer-base layer (~35 GFLOP): ~100 s on tfjs-cpu here.
    it(name, { timeout: name.startsWith('base') ? 900_000 : undefined }, async () => {
      const { model, expected, pixels } = await loadFixture(name);
      const backend = await createTfjsBackend(model, { backend: 'cpu' });
      try {
        expect(backend.name).toBe('tfjs-cpu');
        expectAllPass(await backend.run(pixels.data, pixels.shape as ClipShape, { hiddenStates: true, attention: true }), expected);
      } finally {
        await backend.dispose();
      }
    });
  }
});

describe('tfjs-webgpu on Dawn (Node)', () => {
  it('matches the reference fixture tiny-divided on our device, then runs logits only beside tfjs-cpu', async () => {
    const gpu = await testDevice();
    const { model, expected, pixels } = await loadFixture('tiny-divided');
    const backend = await createNodeBackend('tfjs-webgpu', { model, gpu });
    try {
      expect(backend.name).toBe('tfjs-webgpu');
      const all = await backend.run(pixels.data, pixels.shape as ClipShape, { hiddenStates: true, attention: true });
      expectAllPass(all, expected);
      // Logits only, while a tfjs-cpu backend runs beside it (tfjs' engine is global: the runs are queued).
      const cpu = await createTfjsBackend(model, { backend: 'cpu' });
      const [logitsOnly, onCpu] = await Promise.all([backend.run(pixels.data, pixels.shape as ClipShape), cpu.run(pixels.data, pixels.shape as ClipShape)]);
      await cpu.dispose();
      expect([...logitsOnly.keys()]).toEqual(['logits']);
      expect(maxAbsDiff(logitsOnly.get('logits')!.data, all.get('logits')!.data)).toBe(0);
      expect(maxAbsDiff(onCpu.get('logits')!.data, all.get('logits')!.data)).toBeLessThan(1e-5);
    } finally {
      await backend.dispose();
    }
  }, 300_000);
});

describe('tfjs backend at sizes other than the checkpoint', () => {
  it('agrees with the CPU reference at T=2 and a 3×2 grid cut from 50×40 px (cropped to whole patches)', async () => {
    const { model, pixels } = await loadFixture('tiny-divided'); // trained at T=4, 64×64
    const T = 2, Hpx = 50, Wpx = 40;
    const data = new Float32Array(T * 3 * Hpx * Wpx);
    for (let t = 0; t < T; t++)
      for (let ch = 0; ch < 3; ch++)
        for (let y = 0; y < Hpx; y++)
          for (let x = 0; x < Wpx; x++) data[((t * 3 + ch) * Hpx + y) * Wpx + x] = pixels.data[((t * 3 + ch) * 64 + y) * 64 + x];
    const reference = forwardReference(model, { shape: [T, 3, Hpx, Wpx], data });
    const backend = await createTfjsBackend(model, { backend: 'cpu' });
    try {
      const outputs = await backend.run(data, [T, 3, Hpx, Wpx], { hiddenStates: true, attention: true });
      expect([...outputs.keys()].sort()).toEqual([...reference.keys()].sort());
      for (const [key, ref] of reference) {
        const mine = outputs.get(key)!;
        expect(mine.shape, key).toEqual(ref.shape);
        const scale = Math.max(1, ...ref.data.map(Math.abs));
        expect(maxAbsDiff(mine.data, ref.data) / scale, key).toBeLessThan(2e-5);
      }
    } finally {
      await backend.dispose();
    }
  });

  it('space_only and joint run at other T too', async () => {
    for (const name of ['tiny-space_only', 'tiny-joint_space_time'] as const) {
      const { model, pixels } = await loadFixture(name);
      const clip = { shape: [2, 3, 64, 64], data: pixels.data.slice(0, 2 * 3 * 64 * 64) };
      const reference = forwardReference(model, clip, { attentions: false });
      const backend = await createTfjsBackend(model, { backend: 'cpu' });
      const outputs = await backend.run(clip.data, clip.shape as ClipShape);
      await backend.dispose();
      expect(outputs.get('logits')!.shape, name).toEqual(reference.get('logits')!.shape);
      expect(maxAbsDiff(outputs.get('logits')!.data, reference.get('logits')!.data), name).toBeLessThan(1e-4);
    }
  });
});

describe('tfjs backend errors and lifetime', () => {
  it('checks clips at the boundary with BackendErrors', async () => {
    const { model } = await loadFixture('tiny-divided');
    const backend = await createTfjsBackend(model, { backend: 'cpu' });
    const error = await backend.run(new Float32Array(5), [4, 3, 64, 64]).catch((e) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error.message).toBe('tfjs-cpu: pixels must be a Float32Array of 49152 values for shape [4,3,64,64], got 5');
    await expect(backend.run(new Float32Array(4 * 3 * 8 * 8), [4, 3, 8, 8])).rejects.toThrow(/smaller than one 16-pixel patch/);
    await expect(backend.run(new Float32Array(0), [0, 3, 64, 64])).rejects.toThrow(/positive integers/);
    await backend.dispose();
    await expect(backend.run(new Float32Array(4 * 3 * 64 * 64), [4, 3, 64, 64])).rejects.toThrow(/disposed/);
  });

  it('frees its tensors on dispose', async () => {
    const tf = await import('@tensorflow/tfjs-core');
    const { model, pixels } = await loadFixture('tiny-divided');
    const before = tf.memory().numTensors;
    const backend = await createTfjsBackend(model, { backend: 'cpu' });
    await backend.run(pixels.data, pixels.shape as ClipShape, { hiddenStates: true, attention: true });
    await backend.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs queued jobs one at a time, in order, past failures', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    const job = (name: string, ms: number, fail = false) => () =>
      new Promise<string>((resolve, reject) => setTimeout(() => (log.push(name), fail ? reject(new Error(name)) : resolve(name)), ms));
    const results = await Promise.allSettled([queue.run(job('a', 30)), queue.run(job('b', 1, true)), queue.run(job('c', 1))]);
    expect(log).toEqual(['a', 'b', 'c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
