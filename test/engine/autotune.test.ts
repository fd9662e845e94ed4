// The autotuner: every candidate checked against the CPU reference before it is timed; picks per shape class,
// kept per device and carried across visits by a JSON keyed by the adapter.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adapterKey, CPU_ADAPTER_COMPILE_LIMIT_MS, exportPicks, rememberPicks, tune, tuneCandidates, tuneKernels, tuneReport, tuneShapes, type Measurement, type ModelShapes } from '../../src/engine/autotune';
import { declaredWeightDType } from '../../src/engine/engine-weights';
import { attention, ATTENTION_TUNING } from '../../src/engine/kernels/attention';
import { GEMM_TUNING, gemmVariantsFor } from '../../src/engine/kernels/gemm';
import { LAYER_NORM_TUNING } from '../../src/engine/kernels/layernorm';
import type { EngineDevice } from '../../src/engine/device';
import { nodeEngineDevice } from '../../src/engine/node-gpu';
import { Runtime } from '../../src/engine/runtime';
import { testDevice, testRuntime } from '../gpu';

/** What the tuner should have picked from its measurements: the fastest timed, else the first valid untimed one. */
const expectedPick = (measured: Measurement[]) => (measured.filter((m) => m.ms !== undefined).sort((a, b) => a.ms! - b.ms!)[0] ?? measured.find((m) => m.untimed && !m.rejected))?.variant;

/** Whether the tuner leaves `m` untimed: on a CPU adapter, when it compiled over the limit. */
const untimedHere = (rt: Runtime, m: Measurement) => rt.gpu.adapter.isFallback && m.compileMs! > CPU_ADAPTER_COMPILE_LIMIT_MS;

describe('autotuner', () => {
  it('validates and times every candidate of a shape class, picks the fastest, and measures a class once per device', async () => {
    const rt = await testRuntime();
    const shape = { M: 70, N: 36, K: 52, dtype: 'f16' as const };
    const pick = await tune(rt, GEMM_TUNING, shape);
    const cls = GEMM_TUNING.shapeClass(shape);
    const measured = tuneReport(rt).measurements[cls];
    // Every variant that can run, but the 128×128 tile only on hardware GPUs.
    expect(measured.map((m) => m.variant)).toEqual(gemmVariantsFor(rt.gpu, 'f16', 52).filter((v) => v !== 'tiled-128x128' || !rt.gpu.adapter.isFallback));
    // Every candidate is correct here, so each was timed (but, on a CPU adapter, those compiling too long to pay
    // at every load), and the pick is the fastest.
    expect(measured.every((m) => m.rejected === undefined && m.compileMs! >= 0)).toBe(true);
    for (const m of measured) expect(m.ms! > 0, m.variant).toBe(!untimedHere(rt, m));
    expect(pick).toBe(expectedPick(measured));
    // Another scope of the device, and another M in the same class: no new measurement.
    expect(await tune(rt.scope(), GEMM_TUNING, { ...shape, M: 100 })).toBe(pick);
    expect(tuneReport(rt).measurements[cls]).toBe(measured);
    rt.destroy();
  });

  it('tunes attention (both variants on long sequences) and LayerNorm', async () => {
    const rt = await testRuntime();
    await tune(rt, ATTENTION_TUNING, { seqs: 2, len: 70, heads: 2, D: 16 });
    await tune(rt, LAYER_NORM_TUNING, { rows: 9, D: 40 });
    const { measurements } = tuneReport(rt);
    expect(measurements['attention len≤128 seqs·heads≤4 d=8'].map((m) => m.variant)).toEqual(['global', 'kv-tiles']);
    expect(measurements['layernorm rows≤16 D=40'].map((m) => m.variant)).toEqual(rt.gpu.features.subgroups ? ['workgroup', 'subgroups', 'rows'] : ['workgroup', 'rows']);
    expect(Object.values(measurements).flat().filter((m) => m.rejected)).toEqual([]);
    rt.destroy();
  });

  it('on a CPU adapter, passes over a variant whose pipeline compiles too long to pay at every load there', async () => {
    const rt = await testRuntime();
    // Base's spatial attention (d = 64), on one sequence: kv-tiles compiles in seconds on SwiftShader.
    const pick = await tune(rt, ATTENTION_TUNING, { seqs: 1, len: 197, heads: 12, D: 768 });
    const measured = tuneReport(rt).measurements['attention len≤256 seqs·heads≤16 d=64'];
    expect(measured.map((m) => m.variant)).toEqual(['global', 'kv-tiles']);
    // Checked and timed only those that compiled within the limit (every one on a hardware GPU); the pick is one of those.
    expect(measured.filter((m) => m.rejected)).toEqual([]);
    for (const m of measured) expect(m.untimed !== undefined, m.variant).toBe(untimedHere(rt, m));
    expect(pick).toBe(expectedPick(measured));
    rt.destroy();
  });

  it('tries a variant that compiles too slowly when no other is valid, and picks it if it is', async () => {
    const rt = await testRuntime();
    const [seqs, len, heads, D] = [1, 197, 12, 768];
    const map = { hasCls: false, clsBase: 0, clsStride: 0, rowBase: 0, seqStride: len, tokenStride: 1 };
    // Injected failure: 'global' is right, but its check says it is wrong, so that only kv-tiles (slow to compile
    // on SwiftShader) is left; a check that passes stands in for kv-tiles' (its real one is in the kernel tests).
    const pick = await tuneCandidates(rt, 'slow test class', ['global', 'kv-tiles'] as const, (scope, variant) => ({
      steps: [attention(scope, `test ${variant}`, { qkv: scope.buffer('qkv', seqs * len * 3 * D * 4), context: scope.buffer('context', seqs * len * D * 4), probsMode: 'none', seqs, len, heads, D, input: map, output: map }, variant)],
      check: async () => (variant === 'global' ? 'injected: wrong' : undefined),
    }));
    expect(pick).toBe('kv-tiles');
    const [global, kv] = tuneReport(rt).measurements['slow test class'];
    expect(global.rejected).toBe('injected: wrong');
    expect(kv.rejected).toBeUndefined();
    // On SwiftShader it was tried after the others (untimed), on lavapipe it compiles quickly and was timed.
    expect(kv.untimed !== undefined).toBe(untimedHere(rt, kv));
    rt.destroy();
  });

  it('accepts every correct GEMM variant at K = 3072 (f32 rounding grows with the terms, not only with √K)', async () => {
    const rt = await testRuntime();
    // The FFN's second GEMM of a base model, at the rows a CPU adapter tunes on. Each candidate the tuner checked
    // passed (on SwiftShader the quick-compiling registers, the one every correct variant failed against before;
    // on lavapipe every variant).
    const pick = await tune(rt, GEMM_TUNING, { M: 256, N: 768, K: 3072, dtype: 'f32' });
    const measured = tuneReport(rt).measurements[GEMM_TUNING.shapeClass({ M: 256, N: 768, K: 3072, dtype: 'f32' })];
    expect(measured.filter((m) => m.rejected)).toEqual([]);
    // Registers was checked: timed, or (compiled slowly on a busy machine) checked as the fallback and picked.
    expect(measured.find((m) => m.variant === 'registers')!.ms !== undefined || pick === 'registers').toBe(true);
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
    const pick = await tune(first, GEMM_TUNING, shape);
    const stored = JSON.parse(JSON.stringify(exportPicks(first)));
    expect(stored.picks[GEMM_TUNING.shapeClass(shape)]).toBe(pick);

    // A new visit (a fresh Runtime: nothing measured yet) given the stored JSON measures nothing.
    const second = new Runtime(gpu);
    expect(rememberPicks(second, stored)).toBe(true);
    expect(await tune(second, GEMM_TUNING, shape)).toBe(pick);
    expect(tuneReport(second).measurements).toEqual({});

    // Picks made on another adapter or by an older tuner, or naming no variant we have, are not taken.
    const third = new Runtime(gpu);
    expect(rememberPicks(third, { ...stored, adapter: 'other|gpu' })).toBe(false);
    const { tuner: _, ...unversioned } = stored; // as an older tuner stored them
    expect(rememberPicks(third, unversioned)).toBe(false);
    expect(rememberPicks(third, { ...stored, tuner: stored.tuner - 1 })).toBe(false);
    expect(rememberPicks(third, { ...stored, picks: { [GEMM_TUNING.shapeClass(shape)]: 'no-such-kernel' } })).toBe(true);
    await tune(third, GEMM_TUNING, shape);
    expect(tuneReport(third).measurements[GEMM_TUNING.shapeClass(shape)]).toBeDefined();
    for (const rt of [first, second, third]) rt.destroy();
  });

  it('keys stored picks by the limits tier too: those made on the adapter’s limits are not taken on the baseline device, nor the reverse', async () => {
    const gpu = await testDevice();
    // Same adapter, no optional feature either way (where the features alone used to tell the tiers apart).
    const tier = (workgroupBytes: number, invocations: number, binding: number): EngineDevice => ({
      ...gpu,
      features: { shaderF16: false, subgroups: false, timestampQuery: false },
      device: { limits: { maxComputeWorkgroupStorageSize: workgroupBytes, maxComputeInvocationsPerWorkgroup: invocations, maxStorageBufferBindingSize: binding } } as GPUDevice,
    });
    const adapterTier = adapterKey(tier(32768, 1024, 2 ** 30)), baselineTier = adapterKey(tier(16384, 256, 2 ** 27));
    expect(adapterTier).not.toBe(baselineTier);
    expect(adapterKey(tier(32768, 1024, 2 ** 30))).toBe(adapterTier);
    expect(adapterKey(tier(16384, 1024, 2 ** 30))).not.toBe(adapterTier);

    // On this adapter: picks exported on its own limits, and on WebGPU's defaults, each taken by its tier alone.
    const [big, baseline] = await Promise.all([nodeEngineDevice(undefined, 'adapter'), nodeEngineDevice(undefined, 'baseline')]);
    const [onBig, onBaseline] = [new Runtime(big), new Runtime(baseline)];
    try {
      const shape = { M: 33, N: 20, K: 16, dtype: 'f32' as const };
      await Promise.all([tune(onBig, GEMM_TUNING, shape), tune(onBaseline, GEMM_TUNING, shape)]);
      expect(rememberPicks(new Runtime(baseline), exportPicks(onBig))).toBe(false);
      expect(rememberPicks(new Runtime(big), exportPicks(onBaseline))).toBe(false);
      expect(rememberPicks(new Runtime(baseline), exportPicks(onBaseline))).toBe(true);
    } finally {
      big.device.destroy();
      baseline.device.destroy();
    }
  });

  it('tunes ahead of the engine, one shape class per GPU turn, so that the engine then measures nothing', async () => {
    const rt = await testRuntime();
    const shapes: ModelShapes = { gemm: [{ M: 20, N: 24, K: 16, dtype: 'f32' }, { M: 20, N: 16, K: 24, dtype: 'f32' }], attention: [{ seqs: 3, len: 5, heads: 2, D: 16 }], layerNorm: [{ rows: 20, D: 16 }], gemmTransposed: [{ M: 7, N: 24, K: 12, dtype: 'f32' }] };
    let turns = 0, inTurn = false;
    const classesInTurn: string[][] = [];
    await tuneShapes(rt, shapes, {}, async (work) => {
      expect(inTurn).toBe(false); // one at a time
      inTurn = true;
      const before = Object.keys(tuneReport(rt).measurements);
      try {
        return await work();
      } finally {
        classesInTurn.push(Object.keys(tuneReport(rt).measurements).filter((c) => !before.includes(c)));
        turns++;
        inTurn = false;
      }
    });
    expect(turns).toBe(5);
    expect(classesInTurn.map((c) => c.length)).toEqual([1, 1, 1, 1, 1]);
    const measured = tuneReport(rt).measurements;
    const picks = await tuneKernels(rt.scope(), shapes);
    expect(tuneReport(rt).measurements).toEqual(measured);
    expect(picks.gemm(shapes.gemm[0])).toBe(tuneReport(rt).picks[GEMM_TUNING.shapeClass(shapes.gemm[0])]);

    // A turn that refuses (the load ended) stops it: the classes after it are left to the engine.
    const fresh = await testRuntime();
    await expect(tuneShapes(fresh, shapes, {}, () => Promise.reject(new Error('the load ended')))).rejects.toThrow('the load ended');
    expect(tuneReport(fresh).measurements).toEqual({});
    rt.destroy();
    fresh.destroy();
  });

  it('knows the weight type to tune for from config.json, before the weights are read', () => {
    // `dtype` as transformers writes it now (this repository's fp16 fixture), `torch_dtype` as it did.
    for (const json of ['{"dtype": "float16"}', '{"torch_dtype": "float16"}', readFileSync('fixtures/timesformer/base1-divided-fp16/model/config.json', 'utf8')]) expect(declaredWeightDType(json)).toBe('f16');
    // f32 and bf16 checkpoints are packed as f32 (weightDType), as is one that does not say.
    for (const json of ['{"dtype": "float32"}', '{"torch_dtype": "bfloat16"}', '{}']) expect(declaredWeightDType(json)).toBe('f32');
  });
});
