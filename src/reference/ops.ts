// CPU reference ops: float32 storage, float64 accumulation. The kernels are tested against these.
// Shapes: rows × columns, row-major; a Linear weight is [out, in] as PyTorch stores it.

/** y[r, o] = Σ_i x[r, i]·W[o, i] + b[o] */
export function linear(x: Float32Array, rows: number, inDim: number, weight: Float32Array, bias: Float32Array | undefined, outDim: number): Float32Array {
  const y = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    const xo = r * inDim;
    for (let o = 0; o < outDim; o++) {
      const wo = o * inDim;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let i = 0;
      for (; i + 3 < inDim; i += 4) {
        s0 += x[xo + i] * weight[wo + i];
        s1 += x[xo + i + 1] * weight[wo + i + 1];
        s2 += x[xo + i + 2] * weight[wo + i + 2];
        s3 += x[xo + i + 3] * weight[wo + i + 3];
      }
      for (; i < inDim; i++) s0 += x[xo + i] * weight[wo + i];
      y[r * outDim + o] = s0 + s1 + s2 + s3 + (bias ? bias[o] : 0);
    }
  }
  return y;
}

/** The mean and 1/sqrt(variance + eps) of x[o .. o+dim) (biased variance, as PyTorch). */
export function rowStats(x: Float32Array, o: number, dim: number, eps: number): { mean: number; inv: number } {
  let mean = 0;
  for (let i = 0; i < dim; i++) mean += x[o + i];
  mean /= dim;
  let variance = 0;
  for (let i = 0; i < dim; i++) variance += (x[o + i] - mean) ** 2;
  return { mean, inv: 1 / Math.sqrt(variance / dim + eps) };
}

/** LayerNorm over the last dimension. */
export function layerNorm(x: Float32Array, rows: number, dim: number, gamma: Float32Array, beta: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const { mean, inv } = rowStats(x, o, dim, eps);
    for (let i = 0; i < dim; i++) y[o + i] = (x[o + i] - mean) * inv * gamma[i] + beta[i];
  }
  return y;
}

/** erf to ~1e-14: Taylor series near 0, continued fraction for erfc beyond. (JS has no Math.erf.) */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    let term = x, sum = x;
    for (let n = 1; n < 60 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let k = a;
  for (let n = 60; n >= 1; n--) k = a + n / 2 / k;
  const erfc = Math.exp(-a * a) / (Math.sqrt(Math.PI) * k);
  return Math.sign(x) * (1 - erfc);
}

/** Exact GELU, x·Φ(x), as `hidden_act: "gelu"`. */
export function gelu(x: Float32Array): Float32Array {
  return x.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
}

export function add(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v + b[i]);
}

/**
 * Multi-head self-attention core over G independent sequences of S tokens.
 * qkv: [G, S, 3·D] with columns [q | k | v], heads contiguous inside each (head h = columns h·d … h·d+d−1).
 * Returns the context [G, S, D] and the probabilities [G, heads, S, S].
 */
export function attention(qkv: Float32Array, groups: number, seq: number, dim: number, heads: number): { context: Float32Array; probs: Float32Array } {
  const d = dim / heads, scale = 1 / Math.sqrt(d), stride = 3 * dim;
  const context = new Float32Array(groups * seq * dim);
  const probs = new Float32Array(groups * heads * seq * seq);
  const scores = new Float64Array(seq);
  for (let g = 0; g < groups; g++) {
    const base = g * seq * stride;
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seq; i++) {
        const q = base + i * stride + h * d;
        let max = -Infinity;
        for (let j = 0; j < seq; j++) {
          const k = base + j * stride + dim + h * d;
          let s = 0;
          for (let c = 0; c < d; c++) s += qkv[q + c] * qkv[k + c];
          scores[j] = s * scale;
          if (scores[j] > max) max = scores[j];
        }
        let total = 0;
        for (let j = 0; j < seq; j++) total += scores[j] = Math.exp(scores[j] - max);
        const p = ((g * heads + h) * seq + i) * seq;
        for (let j = 0; j < seq; j++) probs[p + j] = scores[j] / total;
        const out = (g * seq + i) * dim + h * d;
        for (let c = 0; c < d; c++) {
          let s = 0;
          for (let j = 0; j < seq; j++) s += (scores[j] / total) * qkv[base + j * stride + 2 * dim + h * d + c];
          context[out + c] = s;
        }
      }
    }
  }
  return { context, probs };
}
