// The rollout kernels against the dense CPU reference, on random attention probabilities of awkward
// shapes (sequences longer than a workgroup, odd head counts, ties at the discard cut).
import { describe, expect, it } from 'vitest';
import type { AttentionType } from '../../src/checkpoint/config';
import { HEAD_FUSIONS } from '../../src/model/head-fusions';
import { denseRollout } from '../../src/reference/rollout';
import { RolloutRecorder, rolloutLayout, rolloutName } from '../../src/engine/kernels/rollout';
import type { Step } from '../../src/engine/runtime';
import type { NamedTensors } from '../../src/tensor';
import { awkwardCounts, maxAbsDiff, random, sequenceParts, testRuntime } from '../gpu';

/** Softmax-like rows: `count` rows of `n` non-negative values summing to 1; `levels` > 0 rounds values to create ties. */
function probabilityRows(count: number, n: number, seed: number, levels = 0): Float32Array {
  const u = random(count * n, seed);
  const out = new Float32Array(count * n);
  for (let r = 0; r < count; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const v = Math.abs(u[r * n + i]) ** 3;
      sum += out[r * n + i] = levels > 0 ? Math.round(v * levels) / levels : v;
    }
    for (let i = 0; i < n; i++) out[r * n + i] = sum > 0 ? out[r * n + i] / sum : 1 / n;
  }
  return out;
}

interface Case {
  type: AttentionType;
  L: number;
  T: number;
  N: number;
  H: number;
  levels?: number;
}

/** The GPU rollout of `probs`, each sub-layer's uploaded whole or (`inParts`) in parts of 1, 2, … whole sequences. */
async function gpuRollout(c: Case, probs: NamedTensors, discards: number[], inParts = false) {
  const rt = await testRuntime();
  const { vector, subLayers } = rolloutLayout(c.type, c.L, c.H, c.T, c.N);
  const made: GPUBuffer[] = [];
  const buffer = (label: string, floats: number) => {
    const b = rt.buffer(label, floats * 4);
    made.push(b);
    return b;
  };
  const outputs = new Map<string, { buffer: GPUBuffer; shape: number[] }>();
  const recorder = new RolloutRecorder(rt, vector, discards, buffer);
  const steps: Step[] = [];
  for (let l = 0; l < c.L; l++) {
    const names = c.type === 'divided_space_time' ? [`attn.${l}.temporal`, `attn.${l}.spatial`] : [`attn.${l}.full`];
    subLayers.forEach((sub, i) => {
      const counts = inParts ? awkwardCounts(sub.seqs) : [sub.seqs];
      recorder.subLayer(steps, l, `L${l}.${i}`, { ...sub, probs: sequenceParts(rt, names[i], c.H * sub.len * sub.len, counts, probs.get(names[i])!.data) });
    });
  }
  recorder.finish(steps, (name, shape) => {
    const b = buffer(name, shape.reduce((a, x) => a * x));
    outputs.set(name, { buffer: b, shape });
    return b;
  });
  rt.device.pushErrorScope('validation');
  rt.device.queue.submit([rt.encode(steps).finish()]);
  const error = await rt.device.popErrorScope();
  if (error) throw new Error(error.message);
  const read = new Map<string, Float32Array>();
  for (const [name, o] of outputs) read.set(name, (await rt.read(o.buffer, o.shape.reduce((a, x) => a * x) * 4)).slice(0, o.shape.reduce((a, x) => a * x)));
  rt.destroy();
  return read;
}

function randomProbs(c: Case, seed: number): NamedTensors {
  const out: NamedTensors = new Map();
  const add = (name: string, seqs: number, len: number) => out.set(name, { shape: [seqs, c.H, len, len], data: probabilityRows(seqs * c.H * len, len, seed++, c.levels) });
  for (let l = 0; l < c.L; l++) {
    if (c.type === 'divided_space_time') {
      add(`attn.${l}.temporal`, c.N, c.T);
      add(`attn.${l}.spatial`, c.T, 1 + c.N);
    } else if (c.type === 'space_only') add(`attn.${l}.full`, c.T, 1 + c.N);
    else add(`attn.${l}.full`, 1, 1 + c.N * c.T);
  }
  return out;
}

const CASES: Case[] = [
  { type: 'divided_space_time', L: 3, T: 3, N: 5, H: 3 },
  { type: 'divided_space_time', L: 2, T: 5, N: 20, H: 2 }, // spatial matrices of 441 entries: several per thread
  { type: 'divided_space_time', L: 2, T: 4, N: 6, H: 3, levels: 6 }, // coarse values: ties at the cut
  { type: 'joint_space_time', L: 2, T: 2, N: 7, H: 2 },
  { type: 'space_only', L: 2, T: 3, N: 6, H: 5 },
];

describe('rollout kernels', () => {
  for (const c of CASES) {
    it(`equal the dense reference: ${c.type} L${c.L} T${c.T} N${c.N} H${c.H}${c.levels ? ' with ties' : ''}`, async () => {
      const probs = randomProbs(c, 7 + c.N);
      const discards = [0, 0.37, 0.9];
      const got = await gpuRollout(c, probs, discards); // one plan composes every ratio
      discards.forEach((discard, d) => {
        for (const fusion of HEAD_FUSIONS) {
          const want = denseRollout(probs, { attentionType: c.type, layers: c.L, frames: c.T, patches: c.N, heads: c.H }, { fusion, discard });
          const name = rolloutName(fusion, discard, d === 0);
          expect(maxAbsDiff(got.get(`${name}.layers`)!, want.layers), `${fusion}, discard ${discard}`).toBeLessThan(1e-6);
          expect(maxAbsDiff(got.get(name)!, want.final), `${fusion}, discard ${discard}`).toBeLessThan(1e-6);
        }
      });
      // Fused per part of whole sequences: the same numbers.
      const parted = await gpuRollout(c, probs, discards, true);
      for (const [name, values] of got) expect(parted.get(name), name).toEqual(values);
      // The discard changes the result (a test that could not tell them apart would prove nothing).
      expect(maxAbsDiff(got.get('rollout.mean')!, got.get('rollout.mean.discard=0.9')!)).toBeGreaterThan(1e-3);
    });
  }

  it('keep every row of the rollout a distribution (sums to 1 per CLS)', async () => {
    const c = CASES[0];
    const got = await gpuRollout(c, randomProbs(c, 3), [0.5]);
    for (const fusion of HEAD_FUSIONS) {
      const r = got.get(`rollout.${fusion}`)!;
      expect(r.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      expect(Math.min(...r)).toBeGreaterThanOrEqual(0);
    }
  });
});
