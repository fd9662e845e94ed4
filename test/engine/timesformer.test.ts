import { describe, expect, it } from 'vitest';
import { toFloat32 } from '../../src/checkpoint/tensor';
import { TimesformerEngine } from '../../src/engine/timesformer';
import { forwardReference } from '../../src/reference/timesformer';
import { compareOutputs, F16_WEIGHT_TOLERANCES, WGSL_TOLERANCES } from '../../src/verify/compare';
import { FIXTURE_NAMES, loadFixture } from '../fixtures';
import { maxAbsDiff, sharedTestRuntime } from '../gpu';

describe('WGSL engine matches the reference fixtures (f32)', () => {
  for (const name of FIXTURE_NAMES) {
    // base1 is one TimeSformer-base layer (~35 GFLOP): minutes on a 2-core CPU adapter.
    it(name, { timeout: name.startsWith('base') ? 900_000 : undefined }, async () => {
      const { model, expected, pixels } = await loadFixture(name);
      const engine = await TimesformerEngine.create(await sharedTestRuntime(), model);
      try {
        const outputs = await engine.run(pixels.data, pixels.shape as [number, number, number, number], { attention: 'all', hiddenStates: true });
        const failures = compareOutputs(outputs, expected, WGSL_TOLERANCES).filter((r) => !r.pass);
        expect(failures).toEqual([]);
        for (const [key, t] of outputs) {
          if (!key.startsWith('attn.')) continue;
          const n = t.shape[t.shape.length - 1];
          for (let r = 0; r < t.data.length / n; r++) {
            const sum = t.data.subarray(r * n, (r + 1) * n).reduce((x, y) => x + y, 0);
            expect(Math.abs(sum - 1), `${key} row ${r}`).toBeLessThan(1e-6);
          }
        }
      } finally {
        engine.destroy();
      }
    });
  }
});

describe('f16 weights', () => {
  // Base-size shapes: tuned once per file (by the fixture test above when it ran), minutes on a CPU adapter.
  it('keep an f16 checkpoint in f16, exactly (base1 meets the f32 tolerances above)', { timeout: 900_000 }, async () => {
    const { model } = await loadFixture('base1-divided-fp16');
    const engine = await TimesformerEngine.create(await sharedTestRuntime(), model);
    expect(engine.weightDType).toBe('f16');
    engine.destroy();
  });

  for (const name of ['tiny-divided', 'tiny-joint_space_time', 'small-divided'] as const) {
    // The first f16-weight engine of a shape tunes its f16 kernels (each compile takes seconds on SwiftShader).
    it(`round an f32 checkpoint to f16 on request within the stated tolerance: ${name}`, { timeout: 600_000 }, async () => {
      const { model, expected, pixels } = await loadFixture(name);
      const engine = await TimesformerEngine.create(await sharedTestRuntime(), model, { weights: 'f16' });
      try {
        expect(engine.weightDType).toBe('f16');
        const outputs = await engine.run(pixels.data, pixels.shape as [number, number, number, number], { attention: 'all', hiddenStates: true });
        expect(compareOutputs(outputs, expected, F16_WEIGHT_TOLERANCES).filter((r) => !r.pass)).toEqual([]);
        // …and it is not the f32 result: the rounding is real.
        expect(compareOutputs(outputs, expected, WGSL_TOLERANCES).some((r) => !r.pass)).toBe(true);
      } finally {
        engine.destroy();
      }
    });
  }
});

describe('WGSL engine views and shapes', () => {
  it('gives the attention maps of the views and agrees with the reference at another T and grid', async () => {
    const { model, pixels } = await loadFixture('tiny-divided');
    const engine = await TimesformerEngine.create(await sharedTestRuntime(), model);
    try {
      // 3 frames of 48×64: a 3×4 grid, T differs from the checkpoint's 4.
      const T = 3, Hpx = 48, Wpx = 64;
      const data = pixels.data.slice(0, T * 3 * 64 * 64).filter((_, i) => Math.floor(i / 64) % 64 < Hpx);
      const ref = forwardReference(model, { shape: [T, 3, Hpx, Wpx], data });
      const maps = await engine.run(data, [T, 3, Hpx, Wpx], { attention: 'maps', hiddenStates: false, fullSpatialLayer: 1 });
      expect(maxAbsDiff(maps.get('logits')!.data, ref.get('logits')!.data)).toBeLessThan(1e-4);
      expect(maxAbsDiff(maps.get('attn.0.temporal')!.data, ref.get('attn.0.temporal')!.data)).toBeLessThan(5e-5);
      expect(maxAbsDiff(maps.get('attn.1.spatial')!.data, ref.get('attn.1.spatial')!.data)).toBeLessThan(5e-5);
      // CLS rows of layer 0: row 0 of each [T, H] spatial matrix.
      const cls = maps.get('attn.0.spatial.cls')!;
      const full = ref.get('attn.0.spatial')!;
      const n = 1 + 12;
      expect(cls.shape).toEqual([T, 4, n]);
      const rows = new Float32Array(T * 4 * n);
      for (let i = 0; i < T * 4; i++) rows.set(full.data.subarray(i * n * n, i * n * n + n), i * n);
      expect(maxAbsDiff(cls.data, rows)).toBeLessThan(5e-5);
      expect(maps.has('hidden_states.0')).toBe(false);
      // Logits only: a second plan; and back again reuses nothing stale.
      const plain = await engine.run(data, [T, 3, Hpx, Wpx], { attention: 'none', hiddenStates: false });
      expect([...plain.keys()]).toEqual(['logits']);
      expect(maxAbsDiff(plain.get('logits')!.data, ref.get('logits')!.data)).toBeLessThan(1e-4);
    } finally {
      engine.destroy();
    }
  });
});

describe("attention 'cls' (the live overlay)", () => {
  for (const name of ['tiny-divided', 'tiny-joint_space_time', 'tiny-space_only'] as const) {
    it(`${name}: the CLS query's rows alone, equal to the reference's and to what 'maps' gives`, async () => {
      const { model, expected, pixels } = await loadFixture(name);
      const shape = pixels.shape as [number, number, number, number];
      const engine = await TimesformerEngine.create(await sharedTestRuntime(), model);
      try {
        const cls = await engine.run(pixels.data, shape, { attention: 'cls', hiddenStates: false });
        const maps = await engine.run(pixels.data, shape, { attention: 'maps', hiddenStates: false });
        const kind = name === 'tiny-divided' ? 'spatial' : 'full';
        expect([...cls.keys()].sort()).toEqual(['logits', ...Array.from({ length: model.config.numLayers }, (_, l) => `attn.${l}.${kind}.cls`)].sort());
        expect(cls.get('logits')!.data).toEqual(maps.get('logits')!.data);
        for (let l = 0; l < model.config.numLayers; l++) {
          const rows = cls.get(`attn.${l}.${kind}.cls`)!;
          expect(rows.data).toEqual(maps.get(`attn.${l}.${kind}.cls`)!.data);
          // The reference's full matrices [G, H, S, S]: row 0 of each (G, H) is the CLS query's.
          const full = expected.get(`attn.${l}.${kind}`)!;
          const [G, H, S] = full.shape;
          const ref = toFloat32(full);
          const refRows = new Float32Array(G * H * S);
          for (let i = 0; i < G * H; i++) refRows.set(ref.subarray(i * S * S, i * S * S + S), i * S);
          expect(maxAbsDiff(rows.data, refRows)).toBeLessThan(WGSL_TOLERANCES.attention);
        }
      } finally {
        engine.destroy();
      }
    });
  }
});

describe('returnInput', () => {
  it('gives the clip back as read back in f16: within one f16 ulp of the input (WGSL may round either way), at half the bytes', async () => {
    const { model, pixels } = await loadFixture('tiny-divided');
    const engine = await TimesformerEngine.create(await sharedTestRuntime(), model);
    try {
      const outputs = await engine.run(pixels.data, pixels.shape as [number, number, number, number], { attention: 'none', hiddenStates: false, returnInput: true });
      const back = outputs.get('pixel_values')!;
      expect(back.shape).toEqual(pixels.shape);
      expect(back.readBytes).toBe(pixels.data.length * 2);
      for (let i = 0; i < back.data.length; i++) expect(Math.abs(back.data[i] - pixels.data[i])).toBeLessThanOrEqual(Math.abs(pixels.data[i]) * 2 ** -10 + 2 ** -24);
    } finally {
      engine.destroy();
    }
  });
});
