// Each kernel variant's declared needs (workgroup memory, invocations, features: what the autotuner checks
// against the device) against what its WGSL says, read off the code the Runtime compiles; and the tuner offers
// only what the device grants.
import { describe, expect, it } from 'vitest';
import { grants, type KernelNeeds } from '../../src/engine/device';
import { ATTENTION_TUNING, ATTENTION_VARIANTS, attention, attentionNeeds } from '../../src/engine/kernels/attention';
import { GEMM_NEEDS, GEMM_VARIANTS, gemm, gemmVariantsFor, packLinear } from '../../src/engine/kernels/gemm';
import { GEMM_TRANSPOSED_NEEDS, GEMM_TRANSPOSED_VARIANTS, gemmTransposed, gemmTransposedVariantsFor } from '../../src/engine/kernels/gemm-transposed';
import { LAYER_NORM_NEEDS, LAYER_NORM_TUNING, LAYER_NORM_VARIANTS, layerNorm } from '../../src/engine/kernels/layernorm';
import type { Runtime, Step } from '../../src/engine/runtime';
import { testRuntime } from '../gpu';

/**
 * The WGSL of the kernel `record` dispatches (its shader module, created as the step is recorded), with its
 * override constants written in as the values the step's pipeline sets.
 */
function wgslOf(rt: Runtime, record: () => Step): string {
  const device = rt.device;
  const create = device.createShaderModule.bind(device);
  const codes: string[] = [];
  device.createShaderModule = (d) => (codes.push(d.code), create(d));
  let step: Step;
  try {
    step = record();
  } finally {
    device.createShaderModule = create;
  }
  expect(codes).toHaveLength(1);
  if (step.kind !== 'dispatch') throw new Error('not a dispatch');
  const constants = Object.entries(step.kernel.compute.constants ?? {});
  return constants.reduce((code, [name, value]) => code.replace(new RegExp(`override ${name}\\s*:\\s*\\w+;`), `const ${name} = ${Number(value)}u;`), codes[0]);
}

/** Workgroup memory, invocations and `enable`d features, read off WGSL (the types our kernels use). */
function needsOf(code: string): KernelNeeds {
  const consts = new Map([...code.matchAll(/const (\w+)\s*=\s*(\d+)u?;/g)].map((m) => [m[1], Number(m[2])]));
  const term = (n: string) => consts.get(n) ?? Number(n.replace(/u$/, ''));
  // A count or a product or quotient of two (`WORKGROUP_SIZE / 2u`).
  const count = (n: string) => {
    const op = /^(\w+)\s*([*/])\s*(\w+)$/.exec(n.trim());
    return op ? (op[2] === '*' ? term(op[1]) * term(op[3]) : term(op[1]) / term(op[3])) : term(n.trim());
  };
  const size = (type: string): number => {
    const array = /^array<(.+),\s*([^,>]+)>$/.exec(type.trim());
    if (array) return size(array[1]) * count(array[2]);
    const atomic = /^atomic<(\w+)>$/.exec(type.trim());
    const scalar = { f32: 4, u32: 4, i32: 4, vec4f: 16 }[atomic ? atomic[1] : type.trim()];
    if (scalar === undefined) throw new Error(`no size for ${type}`);
    return scalar;
  };
  const workgroupBytes = [...code.matchAll(/var<workgroup>\s+\w+\s*:\s*([^;]+);/g)].reduce((n, m) => n + size(m[1]), 0);
  const [sizes] = [...code.matchAll(/@workgroup_size\(([^)]*)\)/g)].map((m) => m[1].split(',').map((x) => count(x.trim())));
  const features = [...code.matchAll(/enable ([\w-]+);/g)].map((m) => (m[1] === 'f16' ? 'shader-f16' : m[1]) as GPUFeatureName);
  return { workgroupBytes, invocations: sizes.reduce((a, b) => a * b, 1), features };
}

const declared = (n: KernelNeeds) => ({ ...n, features: n.features ?? [] });

describe('kernel variant needs', () => {
  it('every GEMM variant this device runs declares what its WGSL needs', async () => {
    const rt = (await testRuntime()).scope();
    const linear = packLinear(rt, 'w', new Float32Array(8 * 16), 8, 16);
    const runnable = gemmVariantsFor(rt.gpu, 'f16', 16);
    expect(runnable.length).toBeGreaterThan(1);
    for (const variant of GEMM_VARIANTS.filter((v) => v !== 'registers-f16')) {
      expect(runnable.includes(variant), variant).toBe(grants(rt.gpu, GEMM_NEEDS[variant]));
    }
    for (const variant of runnable) {
      const f16Linear = variant === 'registers-f16' ? packLinear(rt, 'w16', new Uint16Array(8 * 16), 8, 16) : linear;
      const code = wgslOf(rt, () => gemm(rt, variant, variant, { a: rt.buffer('a', 4 * 16 * 4), M: 4, linear: f16Linear, y: rt.buffer('y', 4 * 8 * 4) })[0]);
      expect(needsOf(code), variant).toEqual(declared(GEMM_NEEDS[variant]));
    }
    rt.destroy();
  });

  it('every transposed GEMM variant this device runs declares what its WGSL needs', async () => {
    const rt = (await testRuntime()).scope();
    const linear = packLinear(rt, 'w', new Float32Array(8 * 16), 8, 16);
    const runnable = gemmTransposedVariantsFor(rt.gpu);
    for (const variant of GEMM_TRANSPOSED_VARIANTS) expect(runnable.includes(variant), variant).toBe(grants(rt.gpu, GEMM_TRANSPOSED_NEEDS[variant]));
    expect(runnable).toContain('tiled');
    for (const variant of runnable) {
      const code = wgslOf(rt, () => gemmTransposed(rt, variant, { dy: rt.buffer('dy', 4 * 8 * 4), M: 4, linear, dx: rt.buffer('dx', 4 * 16 * 4) }, variant));
      expect(needsOf(code), variant).toEqual(declared(GEMM_TRANSPOSED_NEEDS[variant]));
    }
    rt.destroy();
  });

  it('attention (head dimensions 16, 64) and LayerNorm variants declare what their WGSL needs', async () => {
    const rt = (await testRuntime()).scope();
    const map = { hasCls: false, clsBase: 0, clsStride: 0, rowBase: 0, seqStride: 8, tokenStride: 1 };
    for (const headDim of [16, 64]) {
      for (const variant of ATTENTION_VARIANTS.filter((v) => grants(rt.gpu, attentionNeeds(v, headDim)))) {
        const D = 2 * headDim;
        const args = { qkv: rt.buffer('qkv', 8 * 3 * D * 4), context: rt.buffer('context', 8 * D * 4), probsMode: 'none' as const, seqs: 1, len: 8, heads: 2, D, input: map, output: map };
        expect(needsOf(wgslOf(rt, () => attention(rt, variant, args, variant))), `${variant} d=${headDim}`).toEqual(declared(attentionNeeds(variant, headDim)));
      }
    }
    for (const variant of LAYER_NORM_VARIANTS.filter((v) => grants(rt.gpu, LAYER_NORM_NEEDS[v]))) {
      const args = { x: rt.buffer('x', 64), y: rt.buffer('y', 64), gamma: rt.buffer('g', 64), beta: rt.buffer('b', 64), rows: 1, D: 16, eps: 1e-6 };
      expect(needsOf(wgslOf(rt, () => layerNorm(rt, variant, args, variant))), variant).toEqual(declared(LAYER_NORM_NEEDS[variant]));
    }
    rt.destroy();
  });

  it('the tuner offers only the variants the device grants (kv-tiles of 128-wide heads needs 32 KiB)', async () => {
    const rt = await testRuntime();
    const limit = rt.device.limits.maxComputeWorkgroupStorageSize;
    const wide = ATTENTION_TUNING.candidates(rt.gpu, { seqs: 8, len: 197, heads: 2, D: 256 });
    expect(wide.includes('kv-tiles')).toBe(limit >= 32 * 2 ** 10);
    expect(ATTENTION_TUNING.candidates(rt.gpu, { seqs: 8, len: 197, heads: 12, D: 768 })).toContain('kv-tiles');
    expect(LAYER_NORM_TUNING.candidates(rt.gpu, { rows: 1, D: 16 }).includes('subgroups')).toBe(rt.device.features.has('subgroups'));
    rt.destroy();
  });
});
