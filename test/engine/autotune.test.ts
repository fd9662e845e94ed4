// The autotuner: every candidate checked against the CPU reference before it is timed; picks per shape class,
// kept per device and carried across visits by a JSON keyed by the adapter.
import { describe, expect, it } from 'vitest';
import { exportPicks, gemmClass, rememberPicks, tuneAttention, tuneCandidates, tuneGemm, tuneLayerNorm, tuneReport } from '../../src/engine/autotune';
import { gemmVariantsFor } from '../../src/engine/kernels/gemm';
import { Runtime } from '../../src/engine/runtime';
import { testDevice, testRuntime } from '../gpu';

describe('autotuner', () => {
  it('validates and times every candidate of a shape class, picks the fastest, and measures a class once per device', async () => {
    const rt = await testRuntime();
    const shape = { M: 70, N: 36, K: 52, dtype: 'f16' as const };
    const pick = await tuneGemm(rt, shape);
    const cls = gemmClass(shape);
    const measured = tuneReport(rt).measurements[cls];
    // Every variant that can run, but the 128×128 tile only on hardware GPUs.
    expect(measured.map((m) => m.variant)).toEqual(gemmVariantsFor(rt.gpu, 'f16', 52).filter((v) => v !== 'tiled-128x128' || !rt.gpu.adapter.isFallback));
    // Every candidate is correct here, so each was timed, and the pick is the fastest.
    expect(measured.every((m) => m.rejected === undefined && m.ms! > 0)).toBe(true);
    expect(pick).toBe([...measured].sort((a, b) => a.ms! - b.ms!)[0].variant);
    // Another scope of the device, and another M in the same class: no new measurement.
    expect(await tuneGemm(rt.scope(), { ...shape, M: 100 })).toBe(pick);
    expect(tuneReport(rt).measurements[cls]).toBe(measured);
    rt.destroy();
  });

  it('tunes attention (both variants on long sequences) and LayerNorm', async () => {
    const rt = await testRuntime();
    await tuneAttention(rt, { seqs: 2, len: 70, heads: 2, D: 16 });
    await tuneLayerNorm(rt, { rows: 9, D: 40 });
    const { measurements } = tuneReport(rt);
    expect(measurements['attention len≤128 seqs·heads≤4 d=8'].map((m) => m.variant)).toEqual(['global', 'kv-tiles']);
    expect(measurements['layernorm rows≤16 D=40'].map((m) => m.variant)).toEqual(rt.gpu.features.subgroups ? ['workgroup', 'subgroups'] : ['workgroup']);
    expect(Object.values(measurements).flat().filter((m) => m.rejected)).toEqual([]);
    rt.destroy();
  });

  it('never times or picks a candidate whose output differs from the reference', async () => {
    const rt = await testRuntime();
    // Injected failure: no real variant is wrong on purpose, so this trial's check says 'wrong' is.
    const pick = await tuneCandidates(rt, 'test class', ['wrong', 'right'], (_scope, variant) => ({
      steps: [],
      check: async () => (variant === 'wrong' ? 'row 0 column 0: |error| 1' : undefined),
    }));
    expect(pick).toBe('right');
    const [wrong, right] = tuneReport(rt).measurements['test class'];
    expect(wrong).toEqual({ variant: 'wrong', rejected: 'row 0 column 0: |error| 1' });
    expect(right.ms).toBeGreaterThanOrEqual(0);
    rt.destroy();
  });

  it('remembers picks across visits through a JSON for this adapter only', async () => {
    const gpu = await testDevice();
    const first = new Runtime(gpu);
    const shape = { M: 33, N: 20, K: 16, dtype: 'f32' as const };
    const pick = await tuneGemm(first, shape);
    const stored = JSON.parse(JSON.stringify(exportPicks(first)));
    expect(stored.picks[gemmClass(shape)]).toBe(pick);

    // A new visit (a fresh Runtime: nothing measured yet) given the stored JSON measures nothing.
    const second = new Runtime(gpu);
    expect(rememberPicks(second, stored)).toBe(true);
    expect(await tuneGemm(second, shape)).toBe(pick);
    expect(tuneReport(second).measurements).toEqual({});

    // Picks made on another adapter, or naming no variant we have, are not taken.
    const third = new Runtime(gpu);
    expect(rememberPicks(third, { ...stored, adapter: 'other|gpu' })).toBe(false);
    expect(rememberPicks(third, { adapter: stored.adapter, picks: { [gemmClass(shape)]: 'no-such-kernel' } })).toBe(true);
    await tuneGemm(third, shape);
    expect(tuneReport(third).measurements[gemmClass(shape)]).toBeDefined();
    for (const rt of [first, second, third]) rt.destroy();
  });
});
