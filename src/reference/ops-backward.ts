// The backward of each op in ops.ts, for activation gradients only (no weight gradients): float32
// storage, float64 accumulation, the same shapes and layouts. The backward kernels are tested against these.
// Convention: `dy` is the gradient of the scalar being explained with respect to the op's output; each
// function returns the gradient with respect to the op's input.
import { erf, rowStats } from './ops';

/** linear's dx [rows, in] = dy [rows, out] · W [out, in]. */
export function linearBackward(dy: Float32Array, rows: number, outDim: number, weight: Float32Array, inDim: number): Float32Array {
  const dx = new Float32Array(rows * inDim);
  const acc = new Float64Array(inDim);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    for (let o = 0; o < outDim; o++) {
      const g = dy[r * outDim + o];
      if (g === 0) continue;
      const wo = o * inDim;
      for (let i = 0; i < inDim; i++) acc[i] += g * weight[wo + i];
    }
    dx.set(acc, r * inDim);
  }
  return dx;
}

/**
 * layerNorm's dx from its input x: with x̂ = (x − mean)·inv and g = dy·γ,
 * dx = inv·(g − mean(g) − x̂·mean(g·x̂)).
 */
export function layerNormBackward(x: Float32Array, dy: Float32Array, rows: number, dim: number, gamma: Float32Array, eps: number): Float32Array {
  const dx = new Float32Array(rows * dim);
  const xhat = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const { mean, inv } = rowStats(x, o, dim, eps);
    let meanG = 0, meanGx = 0;
    for (let i = 0; i < dim; i++) {
      xhat[i] = (x[o + i] - mean) * inv;
      const g = dy[o + i] * gamma[i];
      meanG += g;
      meanGx += g * xhat[i];
    }
    meanG /= dim;
    meanGx /= dim;
    for (let i = 0; i < dim; i++) dx[o + i] = inv * (dy[o + i] * gamma[i] - meanG - xhat[i] * meanGx);
  }
  return dx;
}

/** Exact GELU's dx from its input x: dy·(Φ(x) + x·φ(x)). */
export function geluBackward(x: Float32Array, dy: Float32Array): Float32Array {
  return x.map((v, i) => dy[i] * (0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI)));
}

/**
 * attention's backward over G sequences of S tokens, from its input qkv [G, S, 3·D], its probabilities
 * P [G, H, S, S] and dContext [G, S, D]:
 *   dP = dC·Vᵀ,  dV = Pᵀ·dC,  dScores = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = dScores·K·s,  dK = dScoresᵀ·Q·s.
 * Returns dQkv [G, S, 3·D] (columns [dQ | dK | dV]) and dProbs [G, H, S, S] (the gradient of the probabilities).
 */
export function attentionBackward(qkv: Float32Array, probs: Float32Array, dContext: Float32Array, groups: number, seq: number, dim: number, heads: number): { dQkv: Float32Array; dProbs: Float32Array } {
  const d = dim / heads, scale = 1 / Math.sqrt(d), stride = 3 * dim;
  const dQkv = new Float32Array(groups * seq * stride);
  const dProbs = new Float32Array(groups * heads * seq * seq);
  const dScores = new Float64Array(seq * seq);
  const acc = new Float64Array(d);
  for (let g = 0; g < groups; g++) {
    const base = g * seq * stride;
    const col = (token: number, part: number, h: number) => base + token * stride + part * dim + h * d; // part: 0 q, 1 k, 2 v
    for (let h = 0; h < heads; h++) {
      const P = ((g * heads + h) * seq) * seq;
      for (let i = 0; i < seq; i++) {
        const dc = (g * seq + i) * dim + h * d;
        let dot = 0;
        for (let j = 0; j < seq; j++) {
          let s = 0;
          for (let c = 0; c < d; c++) s += dContext[dc + c] * qkv[col(j, 2, h) + c];
          dProbs[P + i * seq + j] = s;
          dScores[i * seq + j] = s;
          dot += s * probs[P + i * seq + j];
        }
        for (let j = 0; j < seq; j++) dScores[i * seq + j] = probs[P + i * seq + j] * (dScores[i * seq + j] - dot);
      }
      for (let i = 0; i < seq; i++) {
        // dQ_i = s·Σ_j dScores[i, j]·K_j
        acc.fill(0);
        for (let j = 0; j < seq; j++) for (let c = 0; c < d; c++) acc[c] += dScores[i * seq + j] * qkv[col(j, 1, h) + c];
        for (let c = 0; c < d; c++) dQkv[col(i, 0, h) + c] = acc[c] * scale;
        // dK_i = s·Σ_j dScores[j, i]·Q_j
        acc.fill(0);
        for (let j = 0; j < seq; j++) for (let c = 0; c < d; c++) acc[c] += dScores[j * seq + i] * qkv[col(j, 0, h) + c];
        for (let c = 0; c < d; c++) dQkv[col(i, 1, h) + c] = acc[c] * scale;
        // dV_i = Σ_j P[j, i]·dC_j
        acc.fill(0);
        for (let j = 0; j < seq; j++) for (let c = 0; c < d; c++) acc[c] += probs[P + j * seq + i] * dContext[(g * seq + j) * dim + h * d + c];
        for (let c = 0; c < d; c++) dQkv[col(i, 2, h) + c] = acc[c];
      }
    }
  }
  return { dQkv, dProbs };
}
