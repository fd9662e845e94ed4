// Each backward op against central differences of its forward op (ops.ts) on small awkward shapes:
// the directional derivative of L = Σ out ⊙ w along a random direction u equals Σ dx ⊙ u.
import { describe, expect, it } from 'vitest';
import { attention, gelu, layerNorm, linear } from '../../src/reference/ops';
import { attentionBackward, geluBackward, layerNormBackward, linearBackward } from '../../src/reference/ops-backward';
import { random } from '../gpu';

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

/** Σ dx ⊙ u and the central difference of L(x) = Σ f(x) ⊙ w along u (float64 perturbation of float32 ops). */
function directional(f: (x: Float32Array) => Float32Array, x: Float32Array, w: Float32Array, dx: Float32Array, seed: number) {
  const u = random(x.length, seed);
  const eps = 1e-2;
  const at = (sign: number) => dot(f(x.map((v, i) => v + sign * eps * u[i])), w);
  return { analytic: dot(dx, u), numeric: (at(1) - at(-1)) / (2 * eps) };
}

describe('backward ops match central differences of the forward ops', () => {
  it('linear: dx = dy·W (5 rows, 7 → 3)', () => {
    const x = random(5 * 7, 1), W = random(3 * 7, 2), b = random(3, 3), dy = random(5 * 3, 4);
    const { analytic, numeric } = directional((v) => linear(v, 5, 7, W, b, 3), x, dy, linearBackward(dy, 5, 3, W, 7), 5);
    expect(Math.abs(analytic - numeric)).toBeLessThan(1e-4 * Math.max(1, Math.abs(numeric)));
  });

  it('layerNorm (3 rows of 13)', () => {
    const x = random(3 * 13, 6, 2), gamma = random(13, 7), beta = random(13, 8), dy = random(3 * 13, 9);
    const { analytic, numeric } = directional((v) => layerNorm(v, 3, 13, gamma, beta, 1e-6), x, dy, layerNormBackward(x, dy, 3, 13, gamma, 1e-6), 10);
    expect(Math.abs(analytic - numeric)).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
  });

  it('exact GELU', () => {
    const x = random(41, 11, 4), dy = random(41, 12);
    const { analytic, numeric } = directional(gelu, x, dy, geluBackward(x, dy), 13);
    expect(Math.abs(analytic - numeric)).toBeLessThan(1e-3 * Math.max(1, Math.abs(numeric)));
  });

  it('attention: dQkv (2 sequences of 5 tokens, 3 heads of 2) and the gradient of the probabilities', () => {
    const G = 2, S = 5, D = 6, H = 3;
    const qkv = random(G * S * 3 * D, 14, 1.5), dC = random(G * S * D, 15);
    const { probs } = attention(qkv, G, S, D, H);
    const back = attentionBackward(qkv, probs, dC, G, S, D, H);
    const { analytic, numeric } = directional((v) => attention(v, G, S, D, H).context, qkv, dC, back.dQkv, 16);
    expect(Math.abs(analytic - numeric)).toBeLessThan(1e-3 * Math.max(1, Math.abs(numeric)));
    // ∂L/∂P[g, h, i, j] = dC_i · V_j (head h's columns): context is linear in the probabilities.
    const d = D / H, g = 1, h = 2, i = 3, j = 1;
    let expected = 0;
    for (let c = 0; c < d; c++) expected += dC[(g * S + i) * D + h * d + c] * qkv[(g * S + j) * 3 * D + 2 * D + h * d + c];
    expect(back.dProbs[((g * H + h) * S + i) * S + j]).toBeCloseTo(expected, 6);
  });
});
