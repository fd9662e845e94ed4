// The CPU reference backward and relevance against PyTorch's float64 autograd (the fixtures'
// explanations.safetensors, scripts/torch/write-explanations.py), against central differences of the
// forward, and between classes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/checkpoint/safetensors';
import { backwardReference } from '../../src/reference/backward';
import { frameImportance, inputTimesGradient } from '../../src/attention/explanation';
import { explanationOutputs, relevance } from '../../src/reference/relevance';
import { attentionGeometry } from '../../src/model/geometry';
import { forwardReference } from '../../src/reference/timesformer';
import { compareOutputs, CPU_TOLERANCES, EXPLANATION } from '../../src/verify/compare';
import { explanationsPath, FIXTURE_NAMES, loadFixture, type FixtureName } from '../fixtures';

const explanations = (name: FixtureName) => readSafetensors(new Uint8Array(readFileSync(explanationsPath(name))), explanationsPath(name));
/** The classes an explanations file holds, from its `grad_pixels.class.<c>` names. */
const classesOf = (names: Iterable<string>) => [...names].flatMap((n) => (n.startsWith('grad_pixels.') ? [Number(EXPLANATION.exec(n)![2])] : []));

describe('CPU reference backward matches PyTorch autograd', () => {
  for (const name of FIXTURE_NAMES) {
    it(name, { timeout: name.startsWith('base') ? 1_800_000 : 60_000 }, async () => {
      const { model, pixels } = await loadFixture(name);
      const expected = explanations(name);
      const classes = classesOf(expected.keys());
      expect(classes).toHaveLength(2);
      const outputs = explanationOutputs(model, pixels, classes, attentionGeometry(model.config, pixels.shape));
      const results = compareOutputs(outputs, new Map([...expected].filter(([n]) => EXPLANATION.test(n))), CPU_TOLERANCES);
      expect(results).toHaveLength(4);
      expect(results.filter((r) => !r.pass)).toEqual([]);
    });
  }
});

describe('CPU reference backward', () => {
  it('matches central differences of the forward at the pixels it moves most (tiny-divided, tiny-space_only)', async () => {
    for (const name of ['tiny-divided', 'tiny-space_only'] as const) {
      const { model, pixels } = await loadFixture(name);
      const c = 2;
      const y = (data: Float32Array) => {
        const logits = forwardReference(model, { shape: pixels.shape, data }, { attentions: false }).get('logits')!;
        const rows = logits.shape[0], labels = logits.shape[1];
        let sum = 0;
        for (let r = 0; r < rows; r++) sum += logits.data[r * labels + c];
        return sum / rows; // space_only: the mean over frames
      };
      const grad = backwardReference(model, pixels, c).pixels.data;
      const strongest = [...grad.keys()].sort((a, b) => Math.abs(grad[b]) - Math.abs(grad[a])).slice(0, 3);
      for (const i of [...strongest, 12345]) {
        const eps = 0.05;
        const moved = (sign: number) => y(pixels.data.map((v, j) => (j === i ? v + sign * eps : v)));
        const numeric = (moved(1) - moved(-1)) / (2 * eps);
        expect(Math.abs(numeric - grad[i])).toBeLessThan(2e-3 * Math.max(...strongest.map((k) => Math.abs(grad[k]))));
      }
    }
  });

  it('rejects a class the model does not have', async () => {
    const { model, pixels } = await loadFixture('tiny-divided');
    expect(() => backwardReference(model, pixels, 10)).toThrow(/class 10 is not one of the model's 10 labels/);
    expect(() => backwardReference(model, pixels, 1.5)).toThrow(RangeError);
  });
});

describe('relevance, saliency, frame importance', () => {
  it('differ between classes (the PyTorch references and ours)', async () => {
    for (const name of ['tiny-divided', 'tiny-joint_space_time', 'tiny-space_only'] as const) {
      const expected = explanations(name);
      const [a, b] = classesOf(expected.keys());
      const { model, pixels } = await loadFixture(name);
      const g = attentionGeometry(model.config, pixels.shape);
      const [ra, rb] = [a, b].map((c) => {
        const back = backwardReference(model, pixels, c);
        return relevance(back.forward, back.attention, g).data;
      });
      const gap = Math.max(...ra.map((v, i) => Math.abs(v - rb[i])));
      expect(gap, name).toBeGreaterThan(1e-3);
      const ea = expected.get(`relevance.class.${a}`)!, eb = expected.get(`relevance.class.${b}`)!;
      expect(Buffer.from(ea.bytes).equals(Buffer.from(eb.bytes))).toBe(false);
    }
  });

  it('input × gradient sums the channels; frame importance sums each frame’s patches', async () => {
    const { model, pixels } = await loadFixture('tiny-divided');
    const g = attentionGeometry(model.config, pixels.shape);
    const back = backwardReference(model, pixels, 0);
    const saliency = inputTimesGradient(pixels, back.pixels);
    const [T, , H, W] = pixels.shape;
    expect(saliency.shape).toEqual([T, H, W]);
    const at = (t: number, ch: number, y: number, x: number) => ((t * 3 + ch) * H + y) * W + x;
    let expected = 0;
    for (let ch = 0; ch < 3; ch++) expected += pixels.data[at(2, ch, 5, 7)] * back.pixels.data[at(2, ch, 5, 7)];
    expect(saliency.data[(2 * H + 5) * W + 7]).toBeCloseTo(expected, 7);

    const rel = relevance(back.forward, back.attention, g);
    const frames = frameImportance(rel, g);
    expect(frames).toHaveLength(T);
    // Every patch token is counted once: the frames add up to the relevance without the CLS.
    const patchesTotal = rel.data.slice(1).reduce((s, v) => s + v, 0);
    expect(frames.reduce((s, v) => s + v, 0)).toBeCloseTo(patchesTotal, 5);
    let frame1 = 0;
    for (let p = 0; p < g.patches; p++) frame1 += rel.data[1 + p * T + 1];
    expect(frames[1]).toBeCloseTo(frame1, 6);
  });
});
