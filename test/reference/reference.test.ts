import { describe, expect, it } from 'vitest';
import { positionEmbeddings, timeEmbeddings } from '../../src/model/embeddings';
import { forwardReference } from '../../src/reference/timesformer';
import { erf } from '../../src/reference/ops';
import { compareOutputs, CPU_TOLERANCES } from '../../src/verify/compare';
import { FIXTURE_NAMES, loadFixture } from '../fixtures';

describe('CPU reference matches Hugging Face transformers', () => {
  for (const name of FIXTURE_NAMES) {
    it(name, { timeout: name.startsWith('base') ? 900_000 : undefined }, async () => {
      const { model, expected, pixels } = await loadFixture(name);
      const results = compareOutputs(forwardReference(model, pixels), expected, CPU_TOLERANCES);
      const failures = results.filter((r) => !r.pass);
      expect(failures).toEqual([]);
      // Every output the fixture holds was compared (nothing silently skipped).
      const outputs = [...expected.keys()].filter((k) => !/^(pixel_values|video_u8|hf_attentions\.)/.test(k));
      expect(results.map((r) => r.name).sort()).toEqual(outputs.sort());
    });
  }
});

describe('CPU reference at sizes other than the checkpoint', () => {
  it('runs with fewer frames and a smaller grid, resizing embeddings by nearest neighbour', async () => {
    const { model, pixels } = await loadFixture('tiny-divided'); // trained at T=4, 64×64 (4×4 grid)
    const { config, weights } = model;
    const D = config.hiddenSize;
    // T = 2 frames of 48×32 px: a 3×2 grid.
    const T = 2, Hpx = 48, Wpx = 32;
    const data = new Float32Array(T * 3 * Hpx * Wpx);
    for (let t = 0; t < T; t++)
      for (let ch = 0; ch < 3; ch++)
        for (let y = 0; y < Hpx; y++)
          for (let x = 0; x < Wpx; x++) data[((t * 3 + ch) * Hpx + y) * Wpx + x] = pixels.data[((t * 3 + ch) * 64 + y) * 64 + x];
    const out = forwardReference(model, { shape: [T, 3, Hpx, Wpx], data });
    const N = 6;
    expect(out.get('logits')!.shape).toEqual([1, config.labels.length]);
    expect(out.get('hidden_states.2')!.shape).toEqual([1, 1 + N * T, D]);
    expect(out.get('attn.0.temporal')!.shape).toEqual([N, config.numHeads, T, T]);
    expect(out.get('attn.1.spatial')!.shape).toEqual([T, config.numHeads, 1 + N, 1 + N]);
    expect(out.get('logits')!.data.every(Number.isFinite)).toBe(true);

    // Nearest resize: time 4→2 keeps rows 0 and 2; time 4→8 repeats each row twice; grid 4×4→3×2 picks rows 0,1,2 and columns 0,2.
    const time = timeEmbeddings(config, weights, 4);
    expect(timeEmbeddings(config, weights, 2)).toEqual(new Float32Array([...time.subarray(0, D), ...time.subarray(2 * D, 3 * D)]));
    const t8 = timeEmbeddings(config, weights, 8);
    for (let t = 0; t < 8; t++) expect(t8.subarray(t * D, (t + 1) * D)).toEqual(time.subarray((t >> 1) * D, ((t >> 1) + 1) * D));
    const pos = positionEmbeddings(config, weights, 4, 4);
    const small = positionEmbeddings(config, weights, 3, 2);
    const pick = [0, 1 + 0 * 4 + 0, 1 + 0 * 4 + 2, 1 + 1 * 4 + 0, 1 + 1 * 4 + 2, 1 + 2 * 4 + 0, 1 + 2 * 4 + 2];
    pick.forEach((src, i) => expect(small.subarray(i * D, (i + 1) * D)).toEqual(pos.subarray(src * D, (src + 1) * D)));
  });

  it('attention rows are probability distributions', async () => {
    const { model, pixels } = await loadFixture('tiny-joint_space_time');
    const attn = forwardReference(model, pixels).get('attn.0.full')!;
    const n = attn.shape[3];
    for (let row = 0; row < attn.data.length / n; row++) {
      const sum = attn.data.subarray(row * n, (row + 1) * n).reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - 1)).toBeLessThan(1e-6);
    }
  });
});

describe('erf', () => {
  it('matches known values to 1e-15', () => {
    // Values from Python's math.erf.
    const known: [number, number][] = [[0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [3, 0.9999779095030014], [-1.5, -0.9661051464753108]];
    for (const [x, y] of known) expect(Math.abs(erf(x) - y)).toBeLessThan(1e-15);
  });
});
